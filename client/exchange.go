package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"

	"github.com/caspio-auth/caspio"
)

// One resource request. Its URL is resolved once. While the client holds a valid lease, the
// request goes out with it at once (the hot path, with no call into the machine); the
// machine takes over when there is no lease, and when the answer is a 401 or a 3xx, which it
// is fed as the result of that first send. Each send of its conversation is performed here.

// exchange is one resource request: the caller's request and what its sends keep.
type exchange struct {
	c      *Client
	req    *http.Request // the caller's, never changed
	base   http.RoundTripper
	check  func(req *http.Request, via []*http.Request) error // asked before a redirect; may be nil
	target string                                             // the URL ResolveURL gave
	u      *url.URL                                           // target, parsed

	last     *http.Response // the last send's response, until it is the answer or passed over
	bodySent bool           // req.Body has gone out: a send after it needs GetBody
	hops     int            // redirects followed
	via      []*http.Request
}

// errHandBack ends a resource request whose last response is its answer, although the
// machine would go on: the caller's CheckRedirect said so.
var errHandBack = errors.New("caspio client: the last response is the answer")

// roundTrip sends req, a resource request, over base, and returns the answer to hand back.
func (c *Client) roundTrip(req *http.Request, base http.RoundTripper, check func(*http.Request, []*http.Request) error) (*http.Response, error) {
	if err := c.usable(); err != nil {
		closeBody(req)
		return nil, err
	}
	if req.URL == nil {
		closeBody(req)
		return nil, errors.New("caspio client: do: the request has no URL")
	}
	ref := req.URL.String()
	target, err := c.settings.ResolveURL(ref)
	if err != nil {
		closeBody(req)
		return nil, wrap("do", err)
	}
	x := &exchange{c: c, req: req, base: base, check: check, target: target, u: req.URL}
	if target != ref {
		if x.u, err = url.Parse(target); err != nil {
			closeBody(req)
			return nil, fmt.Errorf("caspio client: do: the resolved URL does not parse: %w", err)
		}
	}
	fetch := caspio.ResourceRequest{Method: req.Method, Ref: target, OneShot: oneShot(req), NoRetry: c.noRetry || noRetry(req)}

	if l := c.validLease(); l != nil {
		x.bodySent = true
		resp, err := base.RoundTrip(x.request(req.Method, x.u, l.authorization, true, req.Body))
		if err == nil && resp == nil {
			err = errors.New("the transport returned no response and no error")
		}
		if err == nil && caspio.Final(resp.StatusCode) {
			resp.Request = req // not the clone, which holds the token
			return resp, nil
		}
		// The machine says what a 401, a redirect, a 429, a 5xx or no answer leads to: its
		// conversation starts with the send just made, and is fed its answer.
		first := caspio.Response{Err: err}
		if err == nil {
			x.last, first = resp, answer(resp)
		}
		fetch.Authorization = caspio.NewSecret(l.authorization)
		conv := c.machine.Fetch(fetch, c.nowMillis())
		step := conv.Step()
		if step.Kind == caspio.StepSend {
			step = conv.Next(caspio.Result{Kind: caspio.StepSend, Now: c.nowMillis(), Response: first, Jitter: rand.Float64()})
		}
		return x.finish(c.run(req.Context(), conv, step, x))
	}

	if err := req.Context().Err(); err != nil {
		closeBody(req)
		return nil, wrap("do", err)
	}
	conv := c.machine.Fetch(fetch, c.nowMillis())
	return x.finish(c.run(req.Context(), conv, conv.Step(), x))
}

// finish hands back the answer of the conversation that ended with step, or its error.
func (x *exchange) finish(step caspio.Step, err error) (*http.Response, error) {
	switch {
	case errors.Is(err, errHandBack):
	case err == nil && step.Kind == caspio.StepDone && x.last != nil:
	default:
		if err == nil {
			err = step.Err
		}
		if err == nil {
			err = errors.New("the request ended without a response")
		}
		if x.last != nil {
			discard(x.last)
		}
		if !x.bodySent {
			closeBody(x.req)
		}
		return nil, wrap("do", err)
	}
	x.last.Request = x.req // not a clone, which may hold the token
	return x.last, nil
}

// send performs a send step of the conversation and returns its result. It returns
// errHandBack when the caller's CheckRedirect says the last response is the answer, and
// another error when it refuses the redirect.
func (x *exchange) send(step caspio.Step) (caspio.Result, error) {
	out, err := x.outgoing(step)
	if hop := step.Hops > x.hops; hop && err == nil {
		if len(x.via) == 0 {
			x.via = append(x.via, x.req)
		}
		if x.check != nil {
			if err := x.check(out, x.via); err != nil {
				closeBody(out)
				if errors.Is(err, http.ErrUseLastResponse) {
					return caspio.Result{}, errHandBack
				}
				status := x.last.StatusCode
				discard(x.last)
				x.last = nil
				return caspio.Result{}, fmt.Errorf("%w: %w", &caspio.RedirectError{Status: status, Problem: "the HTTPClient's CheckRedirect refused to follow it"}, err)
			}
		}
		x.hops = step.Hops
		x.via = append(x.via, out)
	}
	if x.last != nil { // a 401 or a redirect that the machine goes past
		discard(x.last)
		x.last = nil
	}
	r := caspio.Result{Kind: caspio.StepSend}
	if err == nil {
		var resp *http.Response
		resp, err = x.base.RoundTrip(out)
		if err == nil && resp == nil {
			err = errors.New("the transport returned no response and no error")
		}
		if err == nil {
			x.last, r.Response = resp, answer(resp)
		}
	}
	if err != nil {
		r.Response = caspio.Response{Err: err}
	}
	r.Now, r.Jitter = x.c.nowMillis(), rand.Float64()
	return r, nil
}

// outgoing makes the request of a send step.
func (x *exchange) outgoing(step caspio.Step) (*http.Request, error) {
	u := x.u
	if step.Request.URL != x.target {
		var err error
		if u, err = url.Parse(step.Request.URL); err != nil {
			// Not net/http's error, which quotes the URL whole.
			return nil, &caspio.URLError{Problem: "is where a redirect's Location leads, and not a URL that net/url accepts; it is not followed"}
		}
	}
	var body io.ReadCloser
	if step.KeepBody {
		switch {
		case x.req.Body == nil || x.req.Body == http.NoBody:
			body = x.req.Body
		case !x.bodySent:
			x.bodySent = true
			body = x.req.Body
		case x.req.GetBody == nil:
			return nil, errors.New("caspio client: the request's body cannot be sent again (it has no GetBody)")
		default:
			var err error
			if body, err = x.req.GetBody(); err != nil {
				return nil, fmt.Errorf("caspio client: get the request's body again: %w", err)
			}
		}
	}
	return x.request(step.Request.Method, u, step.Request.Authorization.Reveal(), step.KeepBody, body), nil
}

// request makes the request to send: the caller's, to u with method, with authorization
// as its only Authorization header (none if it is ""), and with body; without its body and
// the headers that described it (caspio.BodyHeaders) unless keepBody.
func (x *exchange) request(method string, u *url.URL, authorization string, keepBody bool, body io.ReadCloser) *http.Request {
	out := new(http.Request)
	*out = *x.req
	out.Method, out.URL = method, u
	out.Host = "" // the Host header goes where ResolveURL (or the machine) said
	out.Header = header(x.req.Header, authorization, keepBody)
	out.Body = body
	if !keepBody {
		out.Body, out.GetBody, out.ContentLength = nil, nil, 0
	}
	return out
}

// header copies h with authorization as its Authorization value (none if ""), without the
// body's headers (caspio.IsBodyHeader) unless keepBody, in two allocations as
// http.Header.Clone.
func header(h http.Header, authorization string, keepBody bool) http.Header {
	values := 0
	for _, vv := range h {
		values += len(vv)
	}
	if authorization != "" {
		values++
	}
	out := make(http.Header, len(h)+1)
	backing := make([]string, values)
	for name, vv := range h {
		if name == "Authorization" || !keepBody && caspio.IsBodyHeader(name) {
			continue
		}
		n := copy(backing, vv)
		out[name] = backing[:n:n]
		backing = backing[n:]
	}
	if authorization != "" {
		backing[0] = authorization
		out["Authorization"] = backing[:1:1]
	}
	return out
}

// answer is what the machine needs of a resource response.
func answer(resp *http.Response) caspio.Response {
	return caspio.Response{Status: resp.StatusCode, Location: resp.Header.Get("Location"), RetryAfter: resp.Header.Get("Retry-After")}
}

// oneShot reports whether req's body can be sent only once.
func oneShot(req *http.Request) bool {
	return req.Body != nil && req.Body != http.NoBody && req.GetBody == nil
}

func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

func closeBody(req *http.Request) {
	if req != nil && req.Body != nil {
		_ = req.Body.Close()
	}
}

type noRetryKey struct{}

// WithoutRetry returns a context whose requests (Do, and the records calls given it) are
// not sent again after a failure that may pass, whatever Options.NoRetry says.
func WithoutRetry(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRetryKey{}, true)
}

func noRetry(req *http.Request) bool {
	v, _ := req.Context().Value(noRetryKey{}).(bool)
	return v
}
