//go:build js && wasm

package workers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall/js"

	"github.com/syumai/workers/cloudflare/fetch"
)

// fetchTransport sends requests with the runtime's fetch through syumai/workers.
type fetchTransport struct{}

type fetchResult struct {
	resp *http.Response
	err  error
}

func (fetchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	body := req.Body
	if body == http.NoBody {
		body = nil
	}
	if body != nil && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
		_ = body.Close()
		return nil, fmt.Errorf("caspio workers: fetch refuses a %s request with a body; send it without one", req.Method)
	}
	if err := ctx.Err(); err != nil {
		if body != nil {
			_ = body.Close()
		}
		return nil, fmt.Errorf("caspio workers: fetch: %w", err)
	}
	out := *req // RoundTrip must not change the caller's request
	out.Body = body

	done := make(chan fetchResult, 1)
	go func() {
		// A JavaScript exception (a URL fetch cannot parse, say) reaches Go as a panic.
		defer func() {
			if p := recover(); p != nil {
				done <- fetchResult{err: fmt.Errorf("caspio workers: fetch failed: %v", p)}
			}
		}()
		resp, err := fetch.NewClient().Do(&fetch.Request{Request: &out}, &fetch.RequestInit{Redirect: fetch.RedirectModeManual})
		if err != nil {
			err = fmt.Errorf("caspio workers: fetch failed: %w", err)
		}
		done <- fetchResult{resp: resp, err: err}
	}()

	select {
	case r := <-done:
		if r.err != nil {
			return nil, r.err
		}
		return finishResponse(ctx, req, r.resp), nil
	case <-ctx.Done():
		go func() {
			// fetch offers no way to abort through syumai/workers: let it finish, and
			// release its body.
			if r := <-done; r.resp != nil {
				_ = r.resp.Body.Close()
			}
		}()
		return nil, fmt.Errorf("caspio workers: fetch: %w", ctx.Err())
	}
}

// rawJSBody is implemented by syumai/workers' response bodies.
type rawJSBody interface {
	GetRawJSBody() js.Value
}

// rawJSBodyWriter is implemented by syumai/workers' http.ResponseWriter: a body written
// through it is handed to the runtime as the JavaScript stream it is, without copying.
type rawJSBodyWriter interface {
	WriteRawJSBody(body js.Value)
}

// finishResponse mends what syumai/workers' conversion leaves: a response without a body
// (204, 304, a HEAD) gets http.NoBody instead of a reader that would fail, header values
// split at every comma are joined again (an HTTP date in Retry-After has one), an unknown
// length is -1 rather than 0, and the body honours ctx.
func finishResponse(ctx context.Context, req *http.Request, resp *http.Response) *http.Response {
	resp.Request = req
	if resp.Proto == "" {
		resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/1.1", 1, 1
	}
	for name, values := range resp.Header {
		if len(values) > 1 && name != "Set-Cookie" {
			// The runtime's Headers had them as one value, joined with ", ".
			resp.Header[name] = []string{strings.Join(values, ",")}
		}
	}
	if raw, ok := resp.Body.(rawJSBody); ok {
		if v := raw.GetRawJSBody(); v.IsNull() || v.IsUndefined() {
			resp.Body = http.NoBody
			resp.ContentLength = 0
			return resp
		}
	}
	if resp.Header.Get("Content-Length") == "" {
		resp.ContentLength = -1
	}
	resp.Body = newContextBody(ctx, resp.Body)
	return resp
}

// contextBody fails a read with ctx's error once ctx ends, cancelling the stream under it.
type contextBody struct {
	ctx  context.Context
	rc   io.ReadCloser
	stop func() bool
}

func newContextBody(ctx context.Context, rc io.ReadCloser) *contextBody {
	b := &contextBody{ctx: ctx, rc: rc}
	b.stop = context.AfterFunc(ctx, func() { _ = rc.Close() })
	return b
}

func (b *contextBody) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := b.rc.Read(p)
	if cerr := b.ctx.Err(); cerr != nil && (err == nil || errors.Is(err, io.EOF)) {
		// The stream ended because the context's end cancelled it.
		return n, cerr
	}
	return n, err
}

func (b *contextBody) Close() error {
	b.stop()
	return b.rc.Close()
}

// WriteTo hands the JavaScript stream itself to a syumai/workers ResponseWriter, so that a
// body passed through a Worker is not copied through Go.
func (b *contextBody) WriteTo(w io.Writer) (int64, error) {
	if _, ok := w.(rawJSBodyWriter); ok {
		if wt, ok := b.rc.(io.WriterTo); ok {
			b.stop()
			return wt.WriteTo(w)
		}
	}
	return io.Copy(w, struct{ io.Reader }{b})
}
