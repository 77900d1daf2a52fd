package sandbox_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio/sandbox"
)

func ptr(s string) *string { return &s }

func TestFaultResponses(t *testing.T) {
	ccForm := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}}
	cases := []struct {
		name   string
		fault  sandbox.Fault
		token  bool // request the token endpoint instead of /rest/v2/tables
		status int
		check  func(t *testing.T, r reply)
	}{
		{
			name:   "token 503 with Retry-After and default body",
			fault:  sandbox.Fault{Route: "/oauth/token", Status: 503, RetryAfter: "2"},
			token:  true,
			status: 503,
			check: func(t *testing.T, r reply) {
				assert.Equal(t, "2", r.header.Get("Retry-After"))
				assert.Equal(t, "application/json", r.header.Get("Content-Type"))
				assert.Equal(t, "temporarily_unavailable", r.json(t)["error"])
			},
		},
		{
			name:   "token 401 default body is invalid_client",
			fault:  sandbox.Fault{Route: "/oauth/", Status: 401},
			token:  true,
			status: 401,
			check:  func(t *testing.T, r reply) { assert.Equal(t, "invalid_client", r.json(t)["error"]) },
		},
		{
			name:   "resource 429 default body is Caspio-shaped",
			fault:  sandbox.Fault{Route: "/rest/v2/tables", Status: 429, RetryAfter: "Wed, 21 Oct 2026 07:28:00 GMT"},
			status: 429,
			check: func(t *testing.T, r reply) {
				assert.Equal(t, "Wed, 21 Oct 2026 07:28:00 GMT", r.header.Get("Retry-After"))
				m := r.json(t)
				assert.Equal(t, "TooManyRequests", m["Code"])
				assert.Equal(t, "/rest/v2/tables", m["Resource"])
				assert.Equal(t, r.header.Get("X-Caspio-Request-ID"), m["RequestId"])
			},
		},
		{
			name:   "resource 401 looks like a revoked token",
			fault:  sandbox.Fault{Route: "/rest/", Status: 401},
			status: 401,
			check: func(t *testing.T, r reply) {
				assert.Equal(t, `Bearer error="invalid_token"`, r.header.Get("WWW-Authenticate"))
				assert.Equal(t, "Unauthorized", r.json(t)["Code"])
			},
		},
		{
			name:   "body verbatim, status defaults to 200",
			fault:  sandbox.Fault{Route: "/oauth/token", Body: ptr("<html>maintenance</html>"), ContentType: "text/html"},
			token:  true,
			status: 200,
			check: func(t *testing.T, r reply) {
				assert.Equal(t, "<html>maintenance</html>", string(r.body))
				assert.Equal(t, "text/html", r.header.Get("Content-Type"))
			},
		},
		{
			name:   "empty body verbatim",
			fault:  sandbox.Fault{Route: "/rest/v2", Status: 500, Body: ptr("")},
			status: 500,
			check: func(t *testing.T, r reply) {
				assert.Empty(t, r.body)
				assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			},
		},
		{
			name:   "redirect with Location",
			fault:  sandbox.Fault{Route: "/oauth/token", Status: 307, Location: "https://elsewhere.invalid/oauth/token"},
			token:  true,
			status: 307,
			check: func(t *testing.T, r reply) {
				assert.Equal(t, "https://elsewhere.invalid/oauth/token", r.header.Get("Location"))
			},
		},
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sb, base := start(t, sandbox.Options{})
			access, _ := tokens(t, base)
			require.NoError(t, sb.InjectFault(tc.fault))
			var req *http.Request
			var err error
			if tc.token {
				req, err = http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(ccForm.Encode()))
				require.NoError(t, err)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				req, err = http.NewRequest(http.MethodGet, base+"/rest/v2/tables", nil)
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer "+access)
			}
			resp, err := noRedirect.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			r := reply{resp.StatusCode, resp.Header, body}
			require.Equal(t, tc.status, r.status, "body: %s", r.body)
			tc.check(t, r)

			// The fault is used up: the same request is handled normally now.
			if tc.token {
				tokens(t, base)
				assert.Equal(t, 3, sb.Stats().TokenRequests["client_credentials"], "a faulted token request is counted")
			} else {
				assert.Equal(t, http.StatusOK, call(t, http.MethodGet, base+"/rest/v2/tables", access, "").status)
			}
		})
	}
}

func TestFaultCountOrderAndRoute(t *testing.T) {
	sb, base := start(t, sandbox.Options{})
	access, _ := tokens(t, base)
	require.NoError(t, sb.InjectFault(sandbox.Fault{Route: "/rest/v2/tables/Orders", Status: 502, Count: 2}))
	require.NoError(t, sb.InjectFault(sandbox.Fault{Route: "/rest/v2/tables/Orders", Status: 504}))
	require.NoError(t, sb.InjectFault(sandbox.Fault{Route: "/oauth/token", Status: 500}))

	steps := []struct {
		path   string
		status int
	}{
		{"/rest/v2/tables", 200},                             // not under the route
		{"/rest/v2/tables/Orders/fields", 502},               // first fault, 1 of 2
		{"/integrations/rest/v3/tables/Orders/records", 200}, // other prefix
		{"/rest/v2/tables/Orders/records", 502},              // first fault, 2 of 2
		{"/rest/v2/tables/Orders/records", 504},              // then the next in the queue
		{"/rest/v2/tables/Orders/records", 200},              // queue empty for this route
	}
	for _, step := range steps {
		r := call(t, http.MethodGet, base+step.path, access, "")
		assert.Equal(t, step.status, r.status, "GET %s", step.path)
	}
	r := postToken(t, base, url.Values{"grant_type": {"client_credentials"}}, basic(clientID, clientSecret))
	assert.Equal(t, http.StatusInternalServerError, r.status, "the token fault waited for its route")
}

func TestFaultDelay(t *testing.T) {
	sb, base := start(t, sandbox.Options{})
	access, _ := tokens(t, base)

	// A pure delay, then normal handling.
	require.NoError(t, sb.InjectFault(sandbox.Fault{Route: "/rest/v2/tables", DelayMS: 150}))
	began := time.Now()
	r := call(t, http.MethodGet, base+"/rest/v2/tables", access, "")
	assert.Equal(t, http.StatusOK, r.status)
	assert.GreaterOrEqual(t, time.Since(began), 150*time.Millisecond)

	// A delay before an error.
	require.NoError(t, sb.InjectFault(sandbox.Fault{Route: "/oauth/token", DelayMS: 100, Status: 503}))
	began = time.Now()
	r = postToken(t, base, url.Values{"grant_type": {"client_credentials"}}, basic(clientID, clientSecret))
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.GreaterOrEqual(t, time.Since(began), 100*time.Millisecond)

	// A client that gives up ends the wait: otherwise the server's Close at the end of
	// the test would block for the full 30 s.
	require.NoError(t, sb.InjectFault(sandbox.Fault{Route: "/rest/v2/tables", DelayMS: 30000}))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/rest/v2/tables", nil)
	require.NoError(t, err)
	began = time.Now()
	_, err = http.DefaultClient.Do(req)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "err: %v", err)
	assert.Less(t, time.Since(began), 5*time.Second)
}

func TestFaultDrop(t *testing.T) {
	sb, base := start(t, sandbox.Options{})
	access, _ := tokens(t, base)
	// A fresh connection per request: Go's client silently retries an idempotent request
	// that failed on a reused connection, which would hide the drop.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	require.NoError(t, sb.InjectFault(sandbox.Fault{Route: "/oauth/token", Drop: true, Status: 200}))
	_, err := client.PostForm(base+"/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}})
	require.Error(t, err, "a dropped connection gives no response")
	assert.Equal(t, 2, sb.Stats().TokenRequests["client_credentials"], "the dropped request is counted")

	require.NoError(t, sb.InjectFault(sandbox.Fault{Route: "/rest/v2/", Drop: true, DelayMS: 50}))
	req, err := http.NewRequest(http.MethodGet, base+"/rest/v2/tables", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+access)
	_, err = client.Do(req)
	require.Error(t, err)

	resp, err := client.Do(req)
	require.NoError(t, err, "only one request is dropped")
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestInjectFaultValidation(t *testing.T) {
	cases := []struct {
		name  string
		fault sandbox.Fault
		word  string
	}{
		{"no route", sandbox.Fault{Status: 500}, "route"},
		{"relative route", sandbox.Fault{Route: "oauth/token", Status: 500}, "route"},
		{"control API", sandbox.Fault{Route: "/__sandbox/stats", Status: 500}, "control API"},
		{"negative count", sandbox.Fault{Route: "/rest/", Count: -1}, "count"},
		{"status too low", sandbox.Fault{Route: "/rest/", Status: 99}, "status"},
		{"status too high", sandbox.Fault{Route: "/rest/", Status: 600}, "status"},
		{"negative delay", sandbox.Fault{Route: "/rest/", DelayMS: -5}, "delay_ms"},
		{"header injection", sandbox.Fault{Route: "/rest/", Status: 503, RetryAfter: "1\r\nX-Evil: 1"}, "retry_after"},
	}
	sb := sandbox.New(sandbox.Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := sb.InjectFault(tc.fault)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.word)
		})
	}
}
