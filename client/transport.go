package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/caspio-auth/caspio"
)

// NewRequest returns a request for a resource path, resolved against the REST base with
// caspio's rules (see caspio.Flow.ResolveURL): "tables", "/tables" and a full URL on the
// resource endpoint all work; a URL elsewhere is refused with a *caspio.URLError. Like
// http.NewRequest it sets GetBody for a *bytes.Buffer, *bytes.Reader or *strings.Reader body,
// which lets Do send the request again after a 401. It sets Accept, and Content-Type to
// application/json when there is a body; change them as needed.
func (c *Client) NewRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	target, err := c.flow.ResolveURL(path)
	if err != nil {
		return nil, fmt.Errorf("caspio client: new request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, fmt.Errorf("caspio client: new request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil && body != http.NoBody {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// Do sends req with the access token in a Bearer Authorization header, getting a token if
// needed, and follows redirects as HTTPClient does. A URL that caspio.Flow.ResolveURL
// refuses is not sent (a *caspio.URLError): one off the resource endpoint, and one that is
// not what it looks like, such as a URL.Opaque or a data: URL, which would otherwise reach
// the REST base as a path. On a 401 the access token is dropped and, when
// the body can be sent again (no body, or GetBody set), the request is retried once with a
// fresh token; otherwise the 401 response is returned as is. A response of any other status
// is returned as is too: see APIErrorFromResponse.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	if _, err := c.flow.ResolveURL(req.URL.String()); err != nil {
		closeBody(req)
		return nil, fmt.Errorf("caspio client: do: %w", err)
	}
	return c.httpClient.Do(req)
}

// HTTPClient returns an *http.Client whose requests carry the access token, through
// Transport(nil). Its CheckRedirect drops the Authorization header on a redirect to another
// origin, which is stricter than Go's default (Go forwards it to the same host on another
// port, and to subdomains), and then applies the Options' client's CheckRedirect, if any.
// Each call returns a new *http.Client; changing it does not change the Client.
func (c *Client) HTTPClient() *http.Client {
	hc := *c.httpClient
	return &hc
}

// Transport returns an http.RoundTripper that sends each request over base (if nil, the
// Options' client's transport, or http.DefaultTransport) as Do does: with the Bearer token,
// refusing a URL off the resource endpoint, retrying once after a 401. A redirect hop
// (req.Response != nil) off the REST base is forwarded without any Authorization header.
// A redirect that must not be followed at all (see caspio.CheckLocation: a Location with
// user info, or not an http(s) URL), or whose Location does not parse, fails with a
// *caspio.URLError whatever the redirect policy, before net/http could quote its Location.
func (c *Client) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = c.base
	}
	return &transport{c: c, base: base}
}

type transport struct {
	c    *Client
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.roundTrip(req)
	if err != nil {
		return resp, err
	}
	if err := refusedRedirect(resp); err != nil {
		discard(resp)
		return nil, fmt.Errorf("caspio client: %w", err)
	}
	return resp, nil
}

func (t *transport) roundTrip(req *http.Request) (*http.Response, error) {
	target, err := t.c.flow.ResolveURL(req.URL.String())
	if err != nil {
		if req.Response != nil {
			// A redirect hop leaving the REST base: follow it, but never with a credential.
			out := req.Clone(req.Context())
			out.Header.Del("Authorization")
			return t.base.RoundTrip(out)
		}
		closeBody(req)
		return nil, fmt.Errorf("caspio client: %w", err)
	}
	u, err := url.Parse(target)
	if err != nil {
		closeBody(req)
		return nil, fmt.Errorf("caspio client: resolved URL does not parse: %w", err)
	}
	return t.c.send(req, u, t.base)
}

// refusedRedirect returns the error for a redirect that is not to be followed: one that
// caspio.CheckLocation refuses, or whose Location does not parse (net/http would then fail
// with an error that quotes the Location whole, user info and all).
func refusedRedirect(resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil
	}
	location := resp.Header.Get("Location")
	if location == "" {
		return nil
	}
	if err := caspio.CheckLocation(location); err != nil {
		return err
	}
	base := &url.URL{}
	if resp.Request != nil && resp.Request.URL != nil {
		base = resp.Request.URL
	}
	if _, err := base.Parse(location); err != nil {
		return &caspio.URLError{Problem: "a redirect's Location is not a valid URL; it is not followed"}
	}
	return nil
}

// send performs req at u with a lease, and once more with a fresh one after a 401.
func (c *Client) send(req *http.Request, u *url.URL, base http.RoundTripper) (*http.Response, error) {
	ctx := req.Context()
	l, err := c.currentLease(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := base.RoundTrip(authorized(req, u, l.authorization, req.Body))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return withRequest(resp, req), err
	}
	c.unauthorized(l.authorization)

	body := req.Body
	switch {
	case req.Body == nil || req.Body == http.NoBody:
	case req.GetBody != nil:
		if body, err = req.GetBody(); err != nil {
			return withRequest(resp, req), nil // cannot replay: the 401 as is
		}
	default:
		return withRequest(resp, req), nil // the body is spent: the 401 as is
	}
	fresh, err := c.currentLease(ctx)
	if err != nil {
		if body != nil {
			_ = body.Close()
		}
		discard(resp)
		return nil, err
	}
	discard(resp)
	c.retries401.Add(1)
	resp, err = base.RoundTrip(authorized(req, u, fresh.authorization, body))
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		c.unauthorized(fresh.authorization)
	}
	return withRequest(resp, req), err
}

// locationKeeper takes the Location header out of a redirect answered to a token request,
// which is never followed, into location: net/http would otherwise parse it first and, on a
// Location such as https://id:pa/ss@host, fail with an error that quotes it whole.
type locationKeeper struct {
	base     http.RoundTripper
	location *string
}

func (k locationKeeper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := k.base.RoundTrip(req)
	if err == nil && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		*k.location = resp.Header.Get("Location")
		resp.Header.Del("Location")
	}
	return resp, err
}

// authorized clones req for u with the Authorization header set and the given body.
func authorized(req *http.Request, u *url.URL, authorization string, body io.ReadCloser) *http.Request {
	out := req.Clone(req.Context())
	out.URL = u
	out.Host = "" // the header goes to the host that ResolveURL checked
	out.Body = body
	out.Header.Set("Authorization", authorization)
	return out
}

// withRequest points resp back at the caller's request, so that resp.Request does not hand
// the Authorization header to whoever logs the response.
func withRequest(resp *http.Response, req *http.Request) *http.Response {
	if resp != nil {
		resp.Request = req
	}
	return resp
}

func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// origin is scheme://host[:port] without a default port, in lower case.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := u.Port()
	if port == "" || (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + port
}

// APIErrorFromResponse makes a *caspio.APIError of a non-2xx response from Do: it reads at
// most 1 MiB of the body, decodes it as Caspio's error JSON if it is one, takes the
// X-Caspio-Request-ID header, and closes the body.
func APIErrorFromResponse(resp *http.Response) *caspio.APIError {
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
