package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/caspio-auth/caspio"
)

// maxTokenBody bounds what is read of a token response or an API error body.
const maxTokenBody = 1 << 20

// requestToken performs a token_request step: it sends the request over the base
// transport, which follows no redirect (a redirect's Location is handed to the core as the
// header says, unparsed), within the step's timeout, and decodes the answer for the core.
func (c *Client) requestToken(ctx context.Context, step caspio.Step) caspio.Response {
	req, timeout := step.Request, millis(step.Timeout)
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(actx, req.Method, req.URL, strings.NewReader(req.Body.Reveal()))
	if err != nil {
		return caspio.Response{Err: err}
	}
	for name, value := range req.Header {
		hreq.Header.Set(name, value)
	}
	if !req.Authorization.IsZero() {
		hreq.Header.Set("Authorization", req.Authorization.Reveal())
	}
	hresp, err := c.base.RoundTrip(hreq)
	if err == nil && hresp == nil {
		err = errors.New("the transport returned no response and no error")
	}
	if err != nil {
		return caspio.Response{Err: attemptError(ctx, actx, timeout, err)}
	}
	defer hresp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(hresp.Body, maxTokenBody+1))
	if err != nil {
		return caspio.Response{Err: attemptError(ctx, actx, timeout, err)}
	}
	resp := caspio.Response{
		Status:      hresp.StatusCode,
		ContentType: hresp.Header.Get("Content-Type"),
		RetryAfter:  hresp.Header.Get("Retry-After"),
		Location:    hresp.Header.Get("Location"),
	}
	if len(body) > maxTokenBody || len(bytes.TrimSpace(body)) == 0 || json.Unmarshal(body, &resp.Body) != nil {
		resp.Body, resp.NotJSON = nil, true
	}
	return resp
}

// attemptError says when a transport error is this attempt's timeout.
func attemptError(ctx, attempt context.Context, timeout time.Duration, err error) error {
	if ctx.Err() == nil && errors.Is(attempt.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer within the TokenTimeout of %s: %w", timeout, err)
	}
	return err
}
