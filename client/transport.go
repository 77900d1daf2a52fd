package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/caspio-auth/caspio"
)

// NewRequest returns a request for a resource path, resolved against the REST base with
// caspio's rules (see caspio.Settings.ResolveURL): "tables", "/tables" and a full URL on the
// resource endpoint all work; a URL elsewhere is refused with a *caspio.URLError. Like
// http.NewRequest it sets GetBody for a *bytes.Buffer, *bytes.Reader or *strings.Reader body,
// which lets Do send the request again after a 401. It sets Accept, and Content-Type to
// application/json when there is a body; change them as needed.
func (c *Client) NewRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	target, err := c.settings.ResolveURL(path)
	if err != nil {
		return nil, wrap("new request", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, wrap("new request", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil && body != http.NoBody {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// Do sends req with the access token in a Bearer Authorization header, getting a token if
// needed. Its URL is resolved once, with caspio.Settings.ResolveURL: one it refuses is not sent
// (a *caspio.URLError), such as a URL off the resource endpoint, or one that is not what it
// looks like, such as a URL.Opaque or a data: URL, which would otherwise reach the REST base
// as a path.
//
// The core decides what follows an answer. A 401 drops the access token and, when the body
// can be sent again (no body, or GetBody set), the request is sent once more with a fresh
// token; otherwise the 401 is returned as is. Redirects are followed as fetch follows them
// (303 turns the request into a GET, and so do 301 and 302 a POST; 307 and 308 send the body
// again), at most 10, with the bearer token only on the REST base and never a caller's own
// Authorization header elsewhere. A Location that may carry user info or is not an http(s)
// URL is refused with a *caspio.URLError. The Options' client's CheckRedirect, if any, is
// asked before each redirect: http.ErrUseLastResponse makes the redirect the answer, another
// error fails the request with a *caspio.RedirectError and that error. A response of any
// other status is returned as is: see APIErrorFromResponse.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	if c != nil && c.viaNetHTTP != nil {
		// The Options' client has a Jar or a Timeout: net/http applies them around the same
		// round trip. Its *url.Error would quote the URL, query and all.
		resp, err := c.viaNetHTTP.Do(req)
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return resp, err
	}
	if err := c.usable(); err != nil {
		closeBody(req)
		return nil, err
	}
	return c.roundTrip(req, c.base, c.checkRedirect)
}

// HTTPClient returns an *http.Client whose requests go through Transport(nil): they carry
// the access token, and follow redirects as Do does, asking the returned client's
// CheckRedirect (the Options' client's, unless it is changed) before each. It has the
// Options' client's Jar and Timeout; the Jar's cookies go with the request, not with the
// redirects the transport follows. Each call returns a new *http.Client; changing it does
// not change the Client.
func (c *Client) HTTPClient() *http.Client {
	hc := &http.Client{}
	t := &transport{c: c, policy: hc}
	if c.usable() == nil {
		t.base = c.base
		hc.CheckRedirect, hc.Jar, hc.Timeout = c.checkRedirect, c.jar, c.timeout
	}
	// The transport follows the redirects; net/http only sees those it hands back (one
	// that CheckRedirect made the answer, a 307 with a body that cannot be sent again, one
	// without a Location), and hands them back too.
	hc.Transport = t
	return hc
}

// Transport returns an http.RoundTripper that sends each request over base (if nil, the
// Options' client's transport, or http.DefaultTransport) as Do does: with the Bearer token,
// refusing a URL off the resource endpoint, sending again once after a 401, and following
// redirects itself, asking the Options' client's CheckRedirect before each; an http.Client
// above it sees the answer only. A request it is given must resolve onto the REST base,
// redirect hops of an http.Client above it included.
func (c *Client) Transport(base http.RoundTripper) http.RoundTripper {
	t := &transport{c: c, base: base}
	if c.usable() == nil {
		if t.base == nil {
			t.base = c.base
		}
		t.check = c.checkRedirect
	}
	return t
}

type transport struct {
	c     *Client
	base  http.RoundTripper
	check func(*http.Request, []*http.Request) error
	// policy, for HTTPClient's transport, is that client: its CheckRedirect is asked
	// instead of check, as the caller may have changed it.
	policy *http.Client
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	check := t.check
	if t.policy != nil {
		check = t.policy.CheckRedirect
	}
	return t.c.roundTrip(req, t.base, check)
}

// APIErrorFromResponse returns the error of a non-2xx response from Do, a *caspio.APIError
// (errors.As reads Caspio's Code, Message and RequestId from it): it reads at most 1 MiB of
// the body, decodes it as Caspio's error JSON if it is one, takes the X-Caspio-Request-ID
// header, and closes the body. A 2xx response is no error: it returns an error saying so
// and leaves the body to the caller.
func APIErrorFromResponse(resp *http.Response) error {
	if resp == nil {
		return errors.New("caspio client: APIErrorFromResponse: the response is nil; pass the response that Do returned")
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return fmt.Errorf("caspio client: APIErrorFromResponse: the response's status is %d, a success, not an error; call it only when the status is not 2xx", resp.StatusCode)
	}
	var body any
	if resp.Body != nil {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
		_ = resp.Body.Close()
		if json.Unmarshal(data, &body) != nil {
			body = nil
		}
	}
	return caspio.NewAPIError(resp.StatusCode, resp.Header.Get("X-Caspio-Request-ID"), body)
}
