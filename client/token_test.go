package client_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/sandbox"
)

func TestTokenEndpointFaults(t *testing.T) {
	t.Parallel()
	const leak = "leaked-access-token-9f8e7d"
	cases := []struct {
		name       string
		faults     []sandbox.Fault
		timeout    time.Duration
		wantErr    bool
		wantStatus int    // of the *caspio.ResponseError or *caspio.OAuthError
		wantField  string // of the *caspio.ResponseError
		wantText   string // in the error or, on success, in the token_error event
		requests   int    // client_credentials requests the sandbox counted
		minElapsed time.Duration
		maxElapsed time.Duration
	}{
		{
			name:     "500 then success",
			faults:   []sandbox.Fault{{Route: "/oauth/token", Status: 500}},
			wantText: "server_error", requests: 2,
			minElapsed: 250 * time.Millisecond, maxElapsed: 3 * time.Second,
		},
		{
			name:    "500 until retries are exhausted",
			faults:  []sandbox.Fault{{Route: "/oauth/token", Status: 500, Count: 10}},
			wantErr: true, wantStatus: 500, wantText: "server_error", requests: 1 + caspio.MaxTokenRetries,
			minElapsed: 1750 * time.Millisecond, maxElapsed: 8 * time.Second,
		},
		{
			name:     "429 with Retry-After waits that long",
			faults:   []sandbox.Fault{{Route: "/oauth/token", Status: 429, RetryAfter: "1"}},
			wantText: "temporarily_unavailable", requests: 2,
			minElapsed: time.Second, maxElapsed: 3 * time.Second,
		},
		{
			name:    "429 with Retry-After beyond the cap fails at once",
			faults:  []sandbox.Fault{{Route: "/oauth/token", Status: 429, RetryAfter: "3600"}},
			wantErr: true, wantStatus: 429, wantText: "temporarily_unavailable", requests: 1,
			maxElapsed: time.Second,
		},
		{
			name:     "timeout then success",
			faults:   []sandbox.Fault{{Route: "/oauth/token", DelayMS: 5000}},
			timeout:  200 * time.Millisecond,
			wantText: "TokenTimeout", requests: 2,
			minElapsed: 450 * time.Millisecond, maxElapsed: 4 * time.Second,
		},
		{
			name:    "timeout until retries are exhausted",
			faults:  []sandbox.Fault{{Route: "/oauth/token", DelayMS: 5000, Count: 10}},
			timeout: 100 * time.Millisecond,
			wantErr: true, wantStatus: 0, wantText: "TokenTimeout of 100ms", requests: 1 + caspio.MaxTokenRetries,
			minElapsed: 2150 * time.Millisecond, maxElapsed: 8 * time.Second,
		},
		{
			name:     "dropped connection then success",
			faults:   []sandbox.Fault{{Route: "/oauth/token", Drop: true}},
			wantText: "no response", requests: 2,
		},
		{
			name:    "malformed JSON",
			faults:  []sandbox.Fault{{Route: "/oauth/token", Status: 200, Body: ptr(`{"access_token":"` + leak + `","token_type":`)}},
			wantErr: true, wantStatus: 200, wantText: "not JSON", requests: 1,
		},
		{
			name:    "empty body",
			faults:  []sandbox.Fault{{Route: "/oauth/token", Status: 200, Body: ptr("")}},
			wantErr: true, wantStatus: 200, wantText: "not JSON", requests: 1,
		},
		{
			name: "HTML 502 error page then success",
			faults: []sandbox.Fault{{Route: "/oauth/token", Status: 502, ContentType: "text/html; charset=utf-8",
				Body: ptr("<html><body><h1>502 Bad Gateway</h1></body></html>")}},
			wantText: "text/html", requests: 2,
		},
		{
			name: "HTML page with 200",
			faults: []sandbox.Fault{{Route: "/oauth/token", Status: 200, ContentType: "text/html",
				Body: ptr("<!doctype html><title>Sign in</title>")}},
			wantErr: true, wantStatus: 200, wantText: "(Content-Type text/html)", requests: 1,
		},
		{
			name:    "missing access_token",
			faults:  []sandbox.Fault{{Route: "/oauth/token", Status: 200, Body: ptr(`{"token_type":"bearer","expires_in":3600}`)}},
			wantErr: true, wantStatus: 200, wantField: "access_token", wantText: "missing", requests: 1,
		},
		{
			name:    "missing expires_in",
			faults:  []sandbox.Fault{{Route: "/oauth/token", Status: 200, Body: ptr(`{"access_token":"` + leak + `","token_type":"bearer"}`)}},
			wantErr: true, wantStatus: 200, wantField: "expires_in", wantText: "missing", requests: 1,
		},
		{
			name:    "wrong token_type",
			faults:  []sandbox.Fault{{Route: "/oauth/token", Status: 200, Body: ptr(`{"access_token":"` + leak + `","token_type":"mac","expires_in":3600}`)}},
			wantErr: true, wantStatus: 200, wantField: "token_type", wantText: `got a string of 3 characters: letters`, requests: 1,
		},
		{
			name:    "access_token of the wrong type",
			faults:  []sandbox.Fault{{Route: "/oauth/token", Status: 200, Body: ptr(`{"access_token":42,"token_type":"bearer","expires_in":3600}`)}},
			wantErr: true, wantStatus: 200, wantField: "access_token", wantText: "expected a string", requests: 1,
		},
		{
			name:    "invalid_client",
			faults:  []sandbox.Fault{{Route: "/oauth/token", Status: 401}},
			wantErr: true, wantStatus: 401, wantText: "invalid_client", requests: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sandbox.Options{})
			for _, f := range tc.faults {
				e.fault(t, f)
			}
			var log events
			c := e.client(t, client.Options{OnEvent: log.add, TokenTimeout: tc.timeout})

			start := time.Now()
			tok, err := c.Token(context.Background())
			elapsed := time.Since(start)

			cc, _ := e.grants()
			assert.Equal(t, tc.requests, cc, "client_credentials requests")
			assert.Len(t, log.of(client.EventTokenRequest), tc.requests, "token_request events")
			if tc.minElapsed > 0 {
				assert.GreaterOrEqual(t, elapsed, tc.minElapsed)
			}
			if tc.maxElapsed > 0 {
				assert.Less(t, elapsed, tc.maxElapsed)
			}
			if !tc.wantErr {
				require.NoError(t, err)
				assert.False(t, tok.AccessToken.IsZero())
				errs := log.of(client.EventTokenError)
				require.Len(t, errs, 1)
				assert.Contains(t, errs[0].Err.Error(), tc.wantText)
				require.Len(t, log.of(client.EventRetry), 1)
				assert.Positive(t, log.of(client.EventRetry)[0].Wait)
				assert.Len(t, log.of(client.EventLogin), 1)
				// The token works on a resource request.
				req, err := c.NewRequest(context.Background(), "GET", "tables", nil)
				require.NoError(t, err)
				resp, err := c.Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				assert.Equal(t, 200, resp.StatusCode)
				return
			}
			require.Error(t, err)
			assert.Nil(t, tok)
			assert.Contains(t, err.Error(), "caspio client: get token: ")
			assert.Equal(t, 1, strings.Count(err.Error(), "caspio"), "one prefix: %v", err)
			assert.Contains(t, err.Error(), tc.wantText)
			assert.NotContains(t, err.Error(), leak)
			assert.NotContains(t, err.Error(), testSecret)
			var re *caspio.ResponseError
			var oe *caspio.OAuthError
			switch {
			case errors.As(err, &re):
				assert.Equal(t, tc.wantStatus, re.Status)
				assert.Equal(t, tc.wantField, re.Field)
			case errors.As(err, &oe):
				assert.Equal(t, tc.wantStatus, oe.Status)
				assert.Empty(t, tc.wantField)
			default:
				t.Fatalf("error %v is neither a *caspio.ResponseError nor a *caspio.OAuthError", err)
			}
			assert.Empty(t, log.of(client.EventLogin))
			// The failed requests are counted in the state, as the core keeps them.
			assert.Equal(t, tc.requests, c.Stats().ClientCredentialsRequests)
		})
	}
}

func TestTokenRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	for _, placement := range []string{caspio.CredentialsInBody, caspio.CredentialsInBasic} {
		t.Run(placement, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sandbox.Options{})
			other, otherRec := otherOrigin(t)
			e.fault(t, sandbox.Fault{Route: "/oauth/token", Status: 307, Location: other.URL + "/oauth/token"})
			cfg := e.config()
			cfg.Credentials = placement
			c := e.clientWith(t, cfg, client.Options{HTTPClient: &httpClientFollowingEverything})

			_, err := c.Token(context.Background())
			require.Error(t, err)
			var re *caspio.ResponseError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, 307, re.Status)
			assert.Equal(t, other.URL+"/oauth/token", re.Location)
			assert.Contains(t, err.Error(), "redirected")
			assert.Empty(t, otherRec.requests(""), "the redirect target got a request")
			cc, _ := e.grants()
			assert.Equal(t, 1, cc)
		})
	}
}

func TestCredentialPlacements(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name          string
		credentials   string
		wantBasic     bool
		wantBodyCreds bool
	}{
		{"default is body", "", false, true},
		{"body", caspio.CredentialsInBody, false, true},
		{"basic", caspio.CredentialsInBasic, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sandbox.Options{})
			cfg := e.config()
			cfg.Credentials = tc.credentials
			c := e.clientWith(t, cfg, client.Options{})
			tok, err := c.Token(context.Background())
			require.NoError(t, err)
			assert.Equal(t, 1, tok.Logins)

			reqs := e.rec.requests("/oauth/token")
			require.Len(t, reqs, 1)
			assert.Equal(t, tc.wantBasic, strings.HasPrefix(reqs[0].Authorization, "Basic "))
			assert.Equal(t, tc.wantBodyCreds, strings.Contains(reqs[0].Body, "client_id=") && strings.Contains(reqs[0].Body, "client_secret="))
			assert.Contains(t, reqs[0].Body, "grant_type=client_credentials")

			// A refresh uses the Basic header whatever the login used.
			_, err = c.Refresh(context.Background())
			require.NoError(t, err)
			reqs = e.rec.requests("/oauth/token")
			require.Len(t, reqs, 2)
			assert.Contains(t, reqs[1].Body, "grant_type=refresh_token")
			assert.NotContains(t, reqs[1].Body, "client_secret")
			assert.Contains(t, reqs[1].Authorization, "Basic ")
		})
	}
}

func TestRefreshRecovery(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// spoil makes the client's refresh token unusable and returns nothing.
		spoil       func(t *testing.T, e *env)
		refreshWith func(c *client.Client) error
		evicted     int // refresh tokens the sandbox evicted, ours among them
	}{
		{
			name:  "refresh token revoked, forced refresh",
			spoil: func(t *testing.T, e *env) { e.sb.RevokeTokens() },
			refreshWith: func(c *client.Client) error {
				_, err := c.Refresh(context.Background())
				return err
			},
		},
		{
			name:  "refresh token revoked, access token expired",
			spoil: func(t *testing.T, e *env) { e.sb.RevokeTokens(); e.sb.Advance(25 * time.Hour) },
			refreshWith: func(c *client.Client) error {
				_, err := c.Token(context.Background())
				return err
			},
		},
		{
			name: "refresh token evicted by the account's cap",
			spoil: func(t *testing.T, e *env) {
				// Two other integrations of the account log in; with a cap of 2 live refresh
				// tokens, ours (the oldest) is evicted silently.
				for range 2 {
					_, err := e.client(t, client.Options{}).Token(context.Background())
					require.NoError(t, err)
				}
				e.sb.Advance(25 * time.Hour)
			},
			evicted: 2, // ours by the second other login, then the first other's by our new login
			refreshWith: func(c *client.Client) error {
				_, err := c.Token(context.Background())
				return err
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sandbox.Options{RefreshTokenCap: 2})
			var log events
			c := e.client(t, client.Options{OnEvent: log.add})
			first, err := c.Token(context.Background())
			require.NoError(t, err)

			tc.spoil(t, e)
			ccBefore, _ := e.grants()
			require.NoError(t, tc.refreshWith(c))

			cc, rt := e.grants()
			assert.Equal(t, 1, rt, "one refresh attempt")
			assert.Equal(t, 1, cc-ccBefore, "one login after the refused refresh")
			assert.Equal(t, tc.evicted, e.sb.Stats().RefreshTokensEvicted)
			errs := log.of(client.EventTokenError)
			require.Len(t, errs, 1)
			var oe *caspio.OAuthError
			require.ErrorAs(t, errs[0].Err, &oe)
			assert.Equal(t, "invalid_grant", oe.ErrorCode)
			assert.Equal(t, caspio.GrantRefreshToken, errs[0].Grant)

			tok, err := c.Token(context.Background())
			require.NoError(t, err)
			assert.False(t, tok.AccessToken.Equal(first.AccessToken))
			assert.Equal(t, 2, tok.Logins)
			assert.Equal(t, 0, tok.Refreshes)
			req, err := c.NewRequest(context.Background(), "GET", "tables", nil)
			require.NoError(t, err)
			resp, err := c.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, 200, resp.StatusCode)
			assert.Equal(t, 0, c.Stats().UnauthorizedRetries)
		})
	}
}

func TestExpiredMidRunRefreshesOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{TokenTTL: time.Hour})
	c := e.client(t, client.Options{})
	get := func() {
		t.Helper()
		req, err := c.NewRequest(context.Background(), "GET", "tables/Orders/records?q.pageSize=5", nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
	}
	get()
	get()
	first, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 5*time.Minute, first.ExpiresAt.Sub(first.ValidUntil), "the default refresh margin")

	e.sb.Advance(61 * time.Minute)
	for range 5 {
		get()
	}
	cc, rt := e.grants()
	assert.Equal(t, 1, cc)
	assert.Equal(t, 1, rt)
	assert.Equal(t, 0, e.sb.Stats().Unauthorized, "the expiry was anticipated, not met with a 401")
	st := c.Stats()
	assert.Equal(t, client.Stats{ClientCredentialsRequests: 1, RefreshTokenRequests: 1, Logins: 1, Refreshes: 1}, st)
}

func TestColdStartSingleFlight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{})
	// A little delay keeps the request in flight while all callers arrive.
	e.fault(t, sandbox.Fault{Route: "/oauth/token", DelayMS: 100})
	c := e.client(t, client.Options{})

	const n = 1000
	var wg sync.WaitGroup
	start := make(chan struct{})
	tokens := make([]*client.Token, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tokens[i], errs[i] = c.Token(context.Background())
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.True(t, tokens[i].AccessToken.Equal(tokens[0].AccessToken))
	}
	st := e.sb.Stats()
	assert.Equal(t, map[string]int{"client_credentials": 1}, st.TokenRequests, "exactly one token request")
	assert.Equal(t, 1, st.AccessTokensMinted)
}

func TestCallerGivingUpDoesNotCancelOthers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{})
	e.fault(t, sandbox.Fault{Route: "/oauth/token", DelayMS: 400})
	c := e.client(t, client.Options{})

	impatient, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	var patientErr error
	var patient *client.Token
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(10 * time.Millisecond)
		patient, patientErr = c.Token(context.Background())
	}()
	start := time.Now()
	_, err := c.Token(impatient)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 300*time.Millisecond, "the impatient caller stopped waiting")
	wg.Wait()
	require.NoError(t, patientErr)
	assert.False(t, patient.AccessToken.IsZero())
	cc, _ := e.grants()
	assert.Equal(t, 1, cc, "the shared acquisition went on")

	// A context that has already ended gets no token and starts no request.
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err = c.Authenticate(done)
	require.ErrorIs(t, err, context.Canceled)
	cc, _ = e.grants()
	assert.Equal(t, 1, cc)
}

func TestForcedGrants(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{})
	var log events
	c := e.client(t, client.Options{OnEvent: log.add})
	ctx := context.Background()

	// Refresh with no refresh token logs in.
	tok, err := c.Refresh(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, tok.Logins)
	assert.False(t, tok.RefreshTokenExpiresAt.IsZero())
	assert.Equal(t, 60*24*time.Hour, tok.RefreshTokenExpiresAt.Sub(tok.ExpiresAt.Add(-86399*time.Second)).Round(time.Second), "an unused refresh token lives 60 days")

	tok2, err := c.Refresh(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, tok2.Refreshes)
	assert.False(t, tok2.AccessToken.Equal(tok.AccessToken))

	tok3, err := c.Authenticate(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, tok3.Logins)

	cc, rt := e.grants()
	assert.Equal(t, 2, cc)
	assert.Equal(t, 1, rt)
	assert.Equal(t, []string{
		client.EventTokenRequest, client.EventLogin,
		client.EventTokenRequest, client.EventRefresh,
		client.EventTokenRequest, client.EventLogin,
	}, log.kinds())
	for _, ev := range log.of(client.EventRefresh) {
		assert.Equal(t, caspio.GrantRefreshToken, ev.Grant)
		assert.Equal(t, 200, ev.Status)
		assert.Equal(t, 1, ev.Attempt)
		assert.False(t, ev.ExpiresAt.IsZero())
	}
	// Token reuses the last grant's token.
	tok4, err := c.Token(ctx)
	require.NoError(t, err)
	assert.True(t, tok4.AccessToken.Equal(tok3.AccessToken))
	assert.Equal(t, "Bearer "+tok3.AccessToken.Reveal(), tok4.Authorization())
}

func TestNewChecksConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		cfg   caspio.Config
		opts  client.Options
		field string
	}{
		{"no endpoint", caspio.Config{ClientID: "id", ClientSecret: caspio.NewSecret(testSecret)}, client.Options{}, "Account"},
		{"plain http off loopback", caspio.Config{IntegrationURL: "http://example.com", ClientID: "id", ClientSecret: caspio.NewSecret(testSecret)}, client.Options{}, "IntegrationURL"},
		{"no secret", caspio.Config{Account: "c1abc123", ClientID: "id"}, client.Options{}, "ClientSecret"},
		{"negative timeout", caspio.Config{Account: "c1abc123", ClientID: "id", ClientSecret: caspio.NewSecret(testSecret)}, client.Options{TokenTimeout: -time.Second}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := client.New(tc.cfg, tc.opts)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.NotContains(t, err.Error(), testSecret)
			var ce *caspio.ConfigError
			if tc.field == "" {
				assert.False(t, errors.As(err, &ce))
				assert.Contains(t, err.Error(), "TokenTimeout")
				return
			}
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
		})
	}
}

// httpClientFollowingEverything follows any redirect: the client's token requests must not,
// whatever the HTTPClient it is given says.
var httpClientFollowingEverything = http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return nil },
}

// TestEventNamesAreTheJSPackages: a Go service and a Node script sharing a log or a metrics
// pipeline name each event alike. The JS names are those of js/index.d.ts, its documentation.
func TestEventNamesAreTheJSPackages(t *testing.T) {
	t.Parallel()
	types, err := os.ReadFile(filepath.Join("..", "js", "index.d.ts"))
	require.NoError(t, err)
	_, union, found := strings.Cut(string(types), "export type ClientEventType =")
	require.True(t, found, "index.d.ts declares ClientEventType")
	union, _, _ = strings.Cut(union, ";")
	var jsNames []string
	for _, m := range regexp.MustCompile(`\| '([a-z_]+)'`).FindAllStringSubmatch(union, -1) {
		jsNames = append(jsNames, m[1])
	}
	goNames := []string{client.EventTokenRequest, client.EventLogin, client.EventRefresh, client.EventTokenError,
		client.EventRetry, client.EventRevoked, client.EventStateDiscarded, client.EventStoreError, client.EventResourceRetry}
	assert.ElementsMatch(t, jsNames, goNames)

	e := newEnv(t, sandbox.Options{})
	var log events
	c := e.client(t, client.Options{Store: failingStore{}, OnEvent: log.add}) // see store_test.go
	_, err = c.Token(context.Background())
	require.NoError(t, err, "a failing store costs the persistence, not the token")
	// The core's order: the login is told with the write step, whose failure comes after.
	assert.Equal(t, []string{"storage_error", "token_request", "login", "storage_error"}, log.kinds())
}
