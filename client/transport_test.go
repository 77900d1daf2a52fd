package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/sandbox"
)

const recordsPath = "/rest/v2/tables/Products/records"

func TestUnauthorizedRetry(t *testing.T) {
	t.Parallel()
	const product = `{"Name":"Test Kettle","Category":"Kitchen","Price":19.99,"Stock":3}`
	cases := []struct {
		name string
		// cause makes the next resource request get a 401.
		cause      func(t *testing.T, e *env)
		method     string
		body       func() io.Reader
		wantStatus int
		sent       int // resource requests that reached the sandbox
		retries    int // Stats().UnauthorizedRetries
		logins     int // client_credentials requests in all
		refreshes  int // refresh_token requests in all
	}{
		{
			name:   "tokens revoked, GET",
			cause:  func(t *testing.T, e *env) { e.sb.RevokeTokens() },
			method: "GET", wantStatus: 200, sent: 2, retries: 1,
			logins: 2, refreshes: 1, // the revoked refresh token is refused, then a login
		},
		{
			name: "401 fault, GET",
			cause: func(t *testing.T, e *env) {
				e.fault(t, sandbox.Fault{Route: recordsPath, Status: 401})
			},
			method: "GET", wantStatus: 200, sent: 2, retries: 1, logins: 1, refreshes: 1,
		},
		{
			name: "401 fault, POST with a replayable body",
			cause: func(t *testing.T, e *env) {
				e.fault(t, sandbox.Fault{Route: recordsPath, Status: 401})
			},
			method: "POST", body: func() io.Reader { return strings.NewReader(product) },
			wantStatus: 201, sent: 2, retries: 1, logins: 1, refreshes: 1,
		},
		{
			name: "401 fault, POST with a body that cannot be replayed",
			cause: func(t *testing.T, e *env) {
				e.fault(t, sandbox.Fault{Route: recordsPath, Status: 401})
			},
			method: "POST", body: func() io.Reader { return io.MultiReader(strings.NewReader(product)) },
			wantStatus: 401, sent: 1, retries: 0, logins: 1, refreshes: 0,
		},
		{
			name: "401 twice: retried once, then the 401 is returned",
			cause: func(t *testing.T, e *env) {
				e.fault(t, sandbox.Fault{Route: recordsPath, Status: 401, Count: 2})
			},
			method: "GET", wantStatus: 401, sent: 2, retries: 1, logins: 1, refreshes: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sandbox.Options{})
			var log events
			c := e.client(t, client.Options{OnEvent: log.add})
			ctx := context.Background()
			before, err := c.Token(ctx)
			require.NoError(t, err)
			tc.cause(t, e)

			var body io.Reader
			if tc.body != nil {
				body = tc.body()
			}
			req, err := c.NewRequest(ctx, tc.method, "tables/Products/records", body)
			require.NoError(t, err)
			resp, err := c.Do(req)
			require.NoError(t, err)
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, tc.wantStatus, resp.StatusCode, "body: %s", raw)
			assert.Same(t, req, resp.Request, "the response points at the caller's request, not the clone with the token")

			sent := e.rec.requests(recordsPath)
			require.Len(t, sent, tc.sent)
			if tc.body != nil {
				for _, s := range sent {
					assert.Equal(t, product, s.Body, "the body is sent whole every time")
				}
			}
			if tc.sent == 2 {
				assert.NotEqual(t, sent[0].Authorization, sent[1].Authorization, "the retry carries a fresh token")
			}
			assert.Equal(t, tc.retries, c.Stats().UnauthorizedRetries)
			cc, rt := e.grants()
			assert.Equal(t, tc.logins, cc)
			assert.Equal(t, tc.refreshes, rt)
			assert.NotEmpty(t, log.of(client.EventRevoked))

			// Whatever happened, the dropped token is not used again.
			after, err := c.Token(ctx)
			require.NoError(t, err)
			assert.False(t, after.AccessToken.Equal(before.AccessToken))
		})
	}
}

func TestConcurrent401sShareOneRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{})
	c := e.client(t, client.Options{})
	ctx := context.Background()
	_, err := c.Token(ctx)
	require.NoError(t, err)
	// Both requests are answered 401 for the same old token; the delay keeps them in flight
	// together.
	e.fault(t, sandbox.Fault{Route: "/rest/v2/tables", Status: 401, Count: 2, DelayMS: 200})

	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := c.NewRequest(ctx, "GET", "tables", nil)
			if !assert.NoError(t, err) {
				return
			}
			resp, err := c.Do(req)
			if !assert.NoError(t, err) {
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	assert.Equal(t, []int{200, 200}, statuses)
	cc, rt := e.grants()
	assert.Equal(t, 1, cc)
	assert.Equal(t, 1, rt, "one refresh for both 401s")
	assert.Equal(t, 2, c.Stats().UnauthorizedRetries)
}

func TestResourceRedirects(t *testing.T) {
	t.Parallel()
	type sender func(c *client.Client, req *http.Request) (*http.Response, error)
	viaDo := func(c *client.Client, req *http.Request) (*http.Response, error) { return c.Do(req) }
	viaHTTPClient := func(c *client.Client, req *http.Request) (*http.Response, error) { return c.HTTPClient().Do(req) }
	viaTransport := func(c *client.Client, req *http.Request) (*http.Response, error) {
		// Go's default redirect policy: it would forward a header set by the caller to
		// the same host on another port.
		return (&http.Client{Transport: c.Transport(nil)}).Do(req)
	}
	cases := []struct {
		name      string
		send      sender
		userAuth  bool // the caller sets an Authorization header of its own too
		elsewhere bool // the redirect leaves the resource origin
	}{
		{"Do, to another origin", viaDo, false, true},
		{"Do, to another origin, caller's own header", viaDo, true, true},
		{"HTTPClient, to another origin", viaHTTPClient, true, true},
		{"Transport with Go's redirect policy, to another origin", viaTransport, true, true},
		{"Do, within the REST base", viaDo, false, false},
		{"Transport, within the REST base", viaTransport, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sandbox.Options{})
			other, otherRec := otherOrigin(t)
			c := e.client(t, client.Options{})
			location := other.URL + "/landing"
			if !tc.elsewhere {
				location = e.ts.URL + "/rest/v2/tables"
			}
			e.fault(t, sandbox.Fault{Route: recordsPath, Status: 302, Location: location})
			req, err := c.NewRequest(context.Background(), "GET", "tables/Products/records", nil)
			require.NoError(t, err)
			if tc.userAuth {
				req.Header.Set("Authorization", "Bearer callers-own-token")
			}
			resp, err := tc.send(c, req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, 200, resp.StatusCode)

			first := e.rec.requests(recordsPath)
			require.Len(t, first, 1)
			tok, err := c.Token(context.Background())
			require.NoError(t, err)
			assert.Equal(t, tok.Authorization(), first[0].Authorization, "the client's token, not the caller's")
			if tc.elsewhere {
				hops := otherRec.requests("/landing")
				require.Len(t, hops, 1)
				assert.Empty(t, hops[0].Authorization, "Authorization followed the redirect to another origin")
			} else {
				hops := e.rec.requests("/rest/v2/tables")
				require.Len(t, hops, 1)
				assert.Equal(t, tok.Authorization(), hops[0].Authorization)
				assert.Empty(t, otherRec.requests(""))
			}
		})
	}
}

// TestCheckRedirect: the client follows redirects itself, by the core's rules, and asks the
// caller's CheckRedirect before each: the Options' client's for Do, and for HTTPClient the
// returned client's, even when it is changed after the call (as a proxy that passes
// redirects back does).
func TestCheckRedirect(t *testing.T) {
	t.Parallel()
	refused := errors.New("no redirects here")
	cases := []struct {
		name       string
		policy     func(req *http.Request, via []*http.Request) error // nil: Go's default
		wantStatus int                                                // 0: an error
		wantHop    bool                                               // the redirect target got the request
	}{
		{"no policy: followed", nil, 200, true},
		{"policy allows", func(*http.Request, []*http.Request) error { return nil }, 200, true},
		{"ErrUseLastResponse: the redirect is the answer", func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, 302, false},
		{"an error: refused", func(*http.Request, []*http.Request) error { return refused }, 0, false},
	}
	senders := map[string]func(e *env, policy func(*http.Request, []*http.Request) error) func(*http.Request) (*http.Response, error){
		"Do": func(e *env, policy func(*http.Request, []*http.Request) error) func(*http.Request) (*http.Response, error) {
			c := e.client(t, client.Options{HTTPClient: &http.Client{CheckRedirect: policy}})
			return c.Do
		},
		"HTTPClient, policy set on it": func(e *env, policy func(*http.Request, []*http.Request) error) func(*http.Request) (*http.Response, error) {
			hc := e.client(t, client.Options{}).HTTPClient()
			hc.CheckRedirect = policy
			return hc.Do
		},
	}
	for _, tc := range cases {
		for name, sender := range senders {
			t.Run(tc.name+" via "+name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, sandbox.Options{})
				send := sender(e, tc.policy)
				e.fault(t, sandbox.Fault{Route: recordsPath, Status: 302, Location: e.ts.URL + "/rest/v2/tables"})
				req, err := http.NewRequest("GET", e.ts.URL+recordsPath, nil)
				require.NoError(t, err)
				resp, err := send(req)
				if tc.wantStatus == 0 {
					require.Error(t, err)
					assert.ErrorIs(t, err, refused)
					var re *caspio.RedirectError
					require.ErrorAs(t, err, &re)
					assert.Equal(t, 302, re.Status)
				} else {
					require.NoError(t, err)
					resp.Body.Close()
					assert.Equal(t, tc.wantStatus, resp.StatusCode)
					assert.Same(t, req, resp.Request)
				}
				assert.Len(t, e.rec.requests("/rest/v2/tables"), map[bool]int{true: 1, false: 0}[tc.wantHop])
			})
		}
	}

	t.Run("the policy sees the hop and the requests before it", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, sandbox.Options{})
		var hops []string
		var vias [][]*http.Request
		c := e.client(t, client.Options{HTTPClient: &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
			hops = append(hops, req.Method+" "+req.URL.String())
			vias = append(vias, append([]*http.Request(nil), via...))
			return nil
		}}})
		e.fault(t, sandbox.Fault{Route: recordsPath, Status: 303, Location: "/rest/v2/tables"})
		req, err := c.NewRequest(context.Background(), "POST", "tables/Products/records", strings.NewReader(`{"Name":"x"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Language", "en")
		req.Header.Set("Content-Disposition", "inline") // not about the body, as fetch has it: kept
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, []string{"GET " + e.ts.URL + "/rest/v2/tables"}, hops, "303 turns the POST into a GET")
		require.Len(t, vias, 1)
		require.Len(t, vias[0], 1)
		assert.Same(t, req, vias[0][0])
		hop := e.rec.requests("/rest/v2/tables")
		require.Len(t, hop, 1)
		assert.Empty(t, hop[0].Body, "no body after a 303")
		for _, name := range caspio.BodyHeaders {
			assert.Empty(t, hop[0].Header.Get(name), "%s describes the body that is not sent", name)
		}
		assert.Equal(t, "inline", hop[0].Header.Get("Content-Disposition"), "the headers the core names go, no others")
	})
}

func TestOffOriginRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{})
	other, otherRec := otherOrigin(t)
	c := e.client(t, client.Options{})
	ctx := context.Background()
	host := strings.TrimPrefix(e.ts.URL, "http://")
	cases := []struct {
		name   string
		url    string
		opaque string // if set, the request's URL.Opaque, as a caller sets it to send a path as written
	}{
		{"another origin", other.URL + "/rest/v2/tables", ""},
		{"the token endpoint", e.ts.URL + "/oauth/token", ""},
		{"outside the REST base", e.ts.URL + "/__sandbox/stats", ""},
		{"dot segments", e.ts.URL + "/rest/v2/../../oauth/token", ""},
		{"the other API version", e.ts.URL + "/integrations/rest/v3/tables", ""},
		{"user info", "http://user@" + host + "/rest/v2/tables", ""},
		// Not paths: they once reached the REST base as one, with the bearer token.
		{"a data: URL", "data:text/plain,rest/v2/tables", ""},
		{"http: without //", "http:" + host + "/rest/v2/tables", ""},
		{"URL.Opaque", e.ts.URL, "/rest/v2/tables"},
	}
	senders := map[string]func(req *http.Request) (*http.Response, error){
		"Do":         c.Do,
		"Transport":  c.Transport(nil).RoundTrip,
		"HTTPClient": c.HTTPClient().Do,
	}
	for _, tc := range cases {
		for name, send := range senders {
			t.Run(tc.name+" via "+name, func(t *testing.T) {
				req, err := http.NewRequestWithContext(ctx, "GET", tc.url, nil)
				require.NoError(t, err)
				req.URL.Opaque = tc.opaque
				resp, err := send(req)
				if resp != nil {
					resp.Body.Close()
				}
				require.Error(t, err)
				var ue *caspio.URLError
				require.ErrorAs(t, err, &ue)
				assert.Contains(t, err.Error(), "caspio client: ")
			})
		}
		if tc.opaque != "" {
			continue // NewRequest takes a string
		}
		t.Run(tc.name+" via NewRequest", func(t *testing.T) {
			req, err := c.NewRequest(ctx, "GET", tc.url, nil)
			assert.Nil(t, req)
			var ue *caspio.URLError
			require.ErrorAs(t, err, &ue)
		})
	}
	assert.Empty(t, otherRec.requests(""))
	assert.Empty(t, e.rec.requests(""), "a refused URL makes no request at all, not even for a token")
}

// TestRedirectsNotFollowed: a redirect whose Location may carry credentials, is not an
// http(s) URL or does not parse fails with a *caspio.URLError that shows none of it, however
// the request was sent and whatever the redirect policy; nothing reaches the target.
func TestRedirectsNotFollowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{})
	other, otherRec := otherOrigin(t)
	otherHost := strings.TrimPrefix(other.URL, "http://")
	c := e.client(t, client.Options{})
	cases := []struct {
		name     string
		location string
		hidden   []string // parts of the Location that the error must not show
	}{
		{"user info", "http://id-7:Zq8vKx1mN0@" + otherHost + "/landing?code=Zq8vCode", []string{"Zq8vKx1mN0", "id-7", "Zq8vCode"}},
		{"user info with a slash in the password", "http://id-7:Zq8v/Kx1mN0@" + otherHost + "/landing", []string{"Zq8v", "Kx1mN0", "id-7"}},
		{"user info without slashes", "http:id-7:Zq8vKx1mN0@" + otherHost + "/landing", []string{"Zq8vKx1mN0", "id-7"}},
		{"user info on the resource origin", "http://id-7:Zq8vKx1mN0@" + strings.TrimPrefix(e.ts.URL, "http://") + "/rest/v2/tables", []string{"Zq8vKx1mN0", "id-7"}},
		{"a data: URL", "data:text/plain,Zq8vKx1mN0", []string{"Zq8vKx1mN0"}},
		{"http: without //", "http:" + otherHost + "/landing", nil},
		{"a Location that does not parse", "http://" + otherHost + ":Zq8vKx1mN0/landing", []string{"Zq8vKx1mN0"}},
	}
	senders := map[string]func(req *http.Request) (*http.Response, error){
		"Do":                                  c.Do,
		"HTTPClient":                          c.HTTPClient().Do,
		"Transport with Go's redirect policy": (&http.Client{Transport: c.Transport(nil)}).Do,
		"Transport, redirects not followed": (&http.Client{Transport: c.Transport(nil), CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}).Do,
	}
	for _, tc := range cases {
		for name, send := range senders {
			t.Run(tc.name+" via "+name, func(t *testing.T) {
				e.fault(t, sandbox.Fault{Route: recordsPath, Status: 302, Location: tc.location})
				req, err := c.NewRequest(context.Background(), "GET", "tables/Products/records", nil)
				require.NoError(t, err)
				resp, err := send(req)
				if resp != nil {
					resp.Body.Close()
				}
				require.Error(t, err)
				var ue *caspio.URLError
				require.ErrorAs(t, err, &ue)
				for _, hidden := range tc.hidden {
					assert.NotContains(t, err.Error(), hidden)
					assert.NotContains(t, ue.Ref, hidden)
				}
			})
		}
	}
	assert.Empty(t, otherRec.requests(""), "a refused redirect reached its target")
}

func TestNewRequestResolvesAndReplays(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{})
	c := e.client(t, client.Options{})
	ctx := context.Background()
	cases := []struct {
		name, path, want string
		body             io.Reader
		replayable       bool
	}{
		{"relative path", "tables", e.ts.URL + "/rest/v2/tables", nil, false},
		{"absolute path", "/rest/v2/tables", e.ts.URL + "/rest/v2/tables", nil, false},
		{"query with spaces", "tables/Orders/records?q.where=Status='Pending' AND Quantity>3",
			e.ts.URL + "/rest/v2/tables/Orders/records?q.where=Status='Pending'%20AND%20Quantity%3E3", nil, false},
		{"bytes body", "tables/Products/records", e.ts.URL + recordsPath, bytes.NewReader([]byte("{}")), true},
		{"strings body", "tables/Products/records", e.ts.URL + recordsPath, strings.NewReader("{}"), true},
		{"reader body", "tables/Products/records", e.ts.URL + recordsPath, io.MultiReader(strings.NewReader("{}")), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := c.NewRequest(ctx, "POST", tc.path, tc.body)
			require.NoError(t, err)
			assert.Equal(t, tc.want, req.URL.String())
			assert.Equal(t, tc.replayable, req.GetBody != nil)
			assert.Equal(t, "application/json", req.Header.Get("Accept"))
			if tc.body != nil {
				assert.Equal(t, "application/json", req.Header.Get("Content-Type"))
			}
		})
	}
}

func TestAPIErrorFromResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{})
	c := e.client(t, client.Options{})
	cases := []struct {
		name     string
		path     string
		status   int
		code     string
		resource string
	}{
		{"unknown table", "tables/Nope/records", 404, "ObjectNotFound", "/rest/v2/tables/Nope/records"},
		{"bad query", "tables/Orders/records?q.pageSize=1", 400, "IncorrectQueryParameter", "/rest/v2/tables/Orders/records"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := c.NewRequest(context.Background(), "GET", tc.path, nil)
			require.NoError(t, err)
			resp, err := c.Do(req)
			require.NoError(t, err)
			var apiErr *caspio.APIError
			require.ErrorAs(t, client.APIErrorFromResponse(resp), &apiErr)
			assert.Equal(t, tc.status, apiErr.Status)
			assert.Equal(t, tc.code, apiErr.Code)
			assert.Equal(t, tc.resource, apiErr.Resource)
			assert.NotEmpty(t, apiErr.Message)
			assert.Equal(t, resp.Header.Get("X-Caspio-Request-ID"), apiErr.RequestID)
			assert.NotEmpty(t, apiErr.RequestID)
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		e.fault(t, sandbox.Fault{Route: "/rest/v2/tables", Status: 503, ContentType: "text/html", Body: ptr("<h1>down</h1>")})
		req, err := c.NewRequest(client.WithoutRetry(context.Background()), "GET", "tables", nil) // a 503 is sent again otherwise
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		var apiErr *caspio.APIError
		require.ErrorAs(t, client.APIErrorFromResponse(resp), &apiErr)
		assert.Equal(t, 503, apiErr.Status)
		assert.Equal(t, "Service Unavailable", apiErr.Message)
		assert.Equal(t, resp.Header.Get("X-Caspio-Request-ID"), apiErr.RequestID)
	})
	t.Run("a success is no error", func(t *testing.T) {
		req, err := c.NewRequest(context.Background(), "GET", "tables", nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		err = client.APIErrorFromResponse(resp)
		require.Error(t, err)
		var apiErr *caspio.APIError
		assert.False(t, errors.As(err, &apiErr), "a 200 is not an API error: %v", err)
		assert.Equal(t, "caspio client: APIErrorFromResponse: the response's status is 200, a success, not an error; call it only when the status is not 2xx", err.Error())
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Contains(t, string(body), "Result", "the body is left to the caller")
		assert.EqualError(t, client.APIErrorFromResponse(nil), "caspio client: APIErrorFromResponse: the response is nil; pass the response that Do returned")
	})
}

func TestDoReadsRecords(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{})
	cfg := e.config()
	cfg.APIVersion = "v3"
	c := e.clientWith(t, cfg, client.Options{})
	req, err := c.NewRequest(context.Background(), "GET", "tables/Orders/records?q.pageSize=1000&q.pageNumber=3", nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	var page struct {
		Result     []map[string]any
		Pagination struct{ PageNumber, PageSize int }
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
	assert.Len(t, page.Result, 500, "the last page of 2,500 records")
	assert.Equal(t, 3, page.Pagination.PageNumber)
	assert.Equal(t, 1000, page.Pagination.PageSize)
	assert.Equal(t, "/integrations/rest/v3/tables/Orders/records", e.rec.requests("")[1].Path)
}

// TestReissuedTokenIsATypedError: a token endpoint that answers a refresh with the very
// access token a 401 has just refused (a deterministic token without a unique claim) gives
// a *caspio.TokenError of Kind TOKEN_REISSUED, not a token the client would send again, and
// no refresh event with an expiry at the Unix epoch.
func TestReissuedTokenIsATypedError(t *testing.T) {
	t.Parallel()
	var resourceRequests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/token" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"access_token":"same-token-every-time","token_type":"bearer","expires_in":86399,"refresh_token":"rt"}`)
			return
		}
		resourceRequests.Add(1)
		w.WriteHeader(http.StatusUnauthorized) // this token is refused, however often it is issued
	}))
	t.Cleanup(srv.Close)
	var log events
	c, err := client.New(caspio.Config{IntegrationURL: srv.URL, ClientID: testID, ClientSecret: caspio.NewSecret(testSecret)},
		client.Options{OnEvent: log.add})
	require.NoError(t, err)
	_, err = c.Token(context.Background())
	require.NoError(t, err)

	req, err := c.NewRequest(context.Background(), "GET", "tables", nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	assert.Nil(t, resp)
	var te *caspio.TokenError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, caspio.KindReissued, te.Kind())
	assert.Equal(t, caspio.GrantRefreshToken, te.Grant)
	assert.NotContains(t, err.Error(), "clock")
	assert.Equal(t, int32(1), resourceRequests.Load(), "the refused token is not sent again")

	assert.Equal(t, []string{
		client.EventTokenRequest, client.EventLogin,
		client.EventRevoked, client.EventTokenRequest, client.EventTokenError,
	}, log.kinds())
	for _, e := range append(log.of(client.EventLogin), log.of(client.EventRefresh)...) {
		assert.True(t, e.ExpiresAt.After(time.Unix(0, 0).Add(24*time.Hour)), "%s event with the expiry %v", e.Kind, e.ExpiresAt)
	}
	_, err = c.Token(context.Background())
	require.ErrorAs(t, err, &te, "the refused token never serves again")
}

// TestRefusedTokenNeverComesBack: after a 401, the client handles its state as the core
// says, even when the refused token is no longer the one it holds (another call replaced
// it while the request was under way): it reports the refusal, sends the request again with
// the token it holds, and never adopts the refused token again from the store, where
// another process may have written it back.
func TestRefusedTokenNeverComesBack(t *testing.T) {
	t.Parallel()
	sb := sandbox.New(sandbox.Options{ClientID: testID, ClientSecret: testSecret})
	arrived, release := make(chan string, 1), make(chan struct{})
	var first sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		held := false
		if r.URL.Path == "/rest/v2/tables" {
			first.Do(func() { held = true })
		}
		if held {
			arrived <- r.Header.Get("Authorization")
			<-release
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	var log events
	store := client.NewMemoryStore()
	c, err := client.New(caspio.Config{IntegrationURL: srv.URL, ClientID: testID, ClientSecret: caspio.NewSecret(testSecret)},
		client.Options{Store: store, OnEvent: log.add, Now: sb.Now})
	require.NoError(t, err)
	ctx := context.Background()
	t1, err := c.Token(ctx)
	require.NoError(t, err)
	stored, err := store.Load(ctx)
	require.NoError(t, err)

	done := make(chan int)
	go func() {
		req, err := c.NewRequest(ctx, "GET", "tables", nil)
		if !assert.NoError(t, err) {
			done <- 0
			return
		}
		resp, err := c.Do(req)
		if !assert.NoError(t, err) {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	require.Equal(t, t1.Authorization(), <-arrived)
	t2, err := c.Authenticate(ctx) // meanwhile, another call replaces the token
	require.NoError(t, err)
	close(release) // and only now is the first token refused
	assert.Equal(t, 200, <-done)
	require.Len(t, log.of(client.EventRevoked), 1, "the refusal is reported")
	assert.Equal(t, 1, c.Stats().UnauthorizedRetries)
	assert.Equal(t, 1, c.Status().Revoked)
	now, err := c.Token(ctx)
	require.NoError(t, err)
	assert.True(t, now.AccessToken.Equal(t2.AccessToken), "the token held is kept")

	// Another process writes back a state that holds the refused token, newer by its
	// counters; once the token in memory lapses, the client reads it, and drops the token.
	var s map[string]any
	require.NoError(t, json.Unmarshal(stored, &s))
	later := sb.Now().Add(48 * time.Hour).UnixMilli()
	s["expires_at"] = float64(later)
	s["counters"] = map[string]any{"client_credentials_requests": 10.0, "refresh_token_requests": 0.0, "logins": 10.0, "refreshes": 0.0}
	back, err := json.Marshal(s)
	require.NoError(t, err)
	require.NoError(t, store.Save(ctx, back))
	sb.Advance(25 * time.Hour)
	t3, err := c.Token(ctx)
	require.NoError(t, err)
	assert.False(t, t3.AccessToken.Equal(t1.AccessToken), "the refused token came back from the store")
	assert.Equal(t, 1, t3.Refreshes, "the stored refresh token serves")
}

// TestDoHonoursTheTimeout: the Options' client's Timeout bounds Do, and the error does not
// quote the request's URL, whose query may hold anything.
func TestDoHonoursTheTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{})
	c := e.client(t, client.Options{HTTPClient: &http.Client{Timeout: 200 * time.Millisecond}})
	_, err := c.Token(context.Background())
	require.NoError(t, err)
	e.fault(t, sandbox.Fault{Route: "/rest/v2/tables", DelayMS: 2000})
	req, err := c.NewRequest(context.Background(), "GET", "tables?q.where=Zq8vKx1", nil)
	require.NoError(t, err)
	start := time.Now()
	_, err = c.Do(req)
	require.Error(t, err)
	assert.Less(t, time.Since(start), 1500*time.Millisecond)
	var ne interface{ Timeout() bool }
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())
	assert.NotContains(t, err.Error(), "Zq8vKx1")
}

// TestNoRefusedTokenDuringTheRetry: once a 401 refused the token, requests made while the
// refresh is under way wait for it instead of sending the refused token, in Go as in JS (the
// revoked event tells every driver to drop its lease).
func TestNoRefusedTokenDuringTheRetry(t *testing.T) {
	t.Parallel()
	sb := sandbox.New(sandbox.Options{ClientID: testID, ClientSecret: testSecret})
	var mu sync.Mutex
	var refused string
	sentRefused := 0
	refreshing, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		mu.Lock()
		if r.URL.Path == "/rest/v2/tables" && refused == "" {
			refused = auth // the first token is refused
		}
		isRefused := auth != "" && auth == refused
		if isRefused {
			sentRefused++
		}
		mu.Unlock()
		if isRefused {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/oauth/token" && refused != "" {
			once.Do(func() { close(refreshing) })
			<-release // the refresh waits until the second request has been made
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(caspio.Config{IntegrationURL: srv.URL, ClientID: testID, ClientSecret: caspio.NewSecret(testSecret)},
		client.Options{Now: sb.Now})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = c.Token(ctx)
	require.NoError(t, err)

	get := func() int {
		req, err := c.NewRequest(ctx, "GET", "tables", nil)
		if !assert.NoError(t, err) {
			return 0
		}
		resp, err := c.Do(req)
		if !assert.NoError(t, err) {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	first := make(chan int)
	go func() { first <- get() }()
	<-refreshing // the 401 came, and the token request after it is under way
	second := make(chan int)
	go func() { second <- get() }()
	time.Sleep(50 * time.Millisecond) // the second request has been made (a lease would send it at once)
	close(release)
	assert.Equal(t, 200, <-first)
	assert.Equal(t, 200, <-second)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 1, sentRefused, "the refused token was sent once, by the request it refused")
}
