package main

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caspio-auth/caspio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/sandbox"
)

const (
	testSecret = "s3cret-proxy-Zq8vKx1-never-print-me"
	testKey    = "proxy-key-Lw93hd0a-also-secret"
	oldKey     = "proxy-key-old-Jd72ks9-secret"
	misplaced  = "misplaced-Hq27xT0-never-print-me"
	appOrigin  = "https://app.example.com"
	keyRules   = "key GET /tables/Orders/records, key GET /tables/Customers/**, key POST /tables/Orders/records, key get /tables/*/fields"
)

func baseEnv(integrationURL string) map[string]string {
	return map[string]string{
		"CASPIO_INTEGRATION_URL": integrationURL,
		"CASPIO_CLIENT_ID":       sandbox.DefaultClientID,
		"CASPIO_CLIENT_SECRET":   testSecret,
		"PROXY_KEYS":             oldKey + ", " + testKey,
		"PROXY_ORIGINS":          appOrigin,
		"PROXY_ALLOW":            keyRules,
	}
}

func getenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func memoryStore(string) (client.Store, error) { return client.NewMemoryStore(), nil }

// get sends one request to h and returns the recorder and its JSON body.
func get(h http.Handler, method, path string, header map[string]string) (*httptest.ResponseRecorder, map[string]string) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	h.ServeHTTP(rec, req)
	var body map[string]string
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return rec, body
}

// A bad configuration: callers are authenticated first; those with a credential get a
// generic 500 with a request ID; the log names the variable and never the value.
func TestConfigProblems(t *testing.T) {
	s := misplaced
	cases := []struct {
		name     string
		change   map[string]string
		variable string
	}{
		{name: "no endpoint", change: map[string]string{"CASPIO_INTEGRATION_URL": ""}, variable: "CASPIO_ACCOUNT"},
		{name: "secret as the account", change: map[string]string{"CASPIO_INTEGRATION_URL": "", "CASPIO_ACCOUNT": s}, variable: "CASPIO_ACCOUNT"},
		{name: "secret in the integration URL", change: map[string]string{"CASPIO_INTEGRATION_URL": "https://c1.caspio.com/" + s}, variable: "CASPIO_INTEGRATION_URL"},
		{name: "token URL without resource URL", change: map[string]string{"CASPIO_INTEGRATION_URL": "", "CASPIO_TOKEN_URL": "https://c1.caspio.com/oauth/token"}, variable: "CASPIO_RESOURCE_URL"},
		{name: "secret as the API version", change: map[string]string{"CASPIO_API_VERSION": s}, variable: "CASPIO_API_VERSION"},
		{name: "no client ID", change: map[string]string{"CASPIO_CLIENT_ID": ""}, variable: "CASPIO_CLIENT_ID"},
		{name: "secret and more as the client ID", change: map[string]string{"CASPIO_CLIENT_ID": s + " x"}, variable: "CASPIO_CLIENT_ID"},
		{name: "no secret", change: map[string]string{"CASPIO_CLIENT_SECRET": ""}, variable: "CASPIO_CLIENT_SECRET"},
		{name: "secret with a control character", change: map[string]string{"CASPIO_CLIENT_SECRET": testSecret + "\x01x"}, variable: "CASPIO_CLIENT_SECRET"},
		{name: "a short key beside a good one", change: map[string]string{"PROXY_KEYS": testKey + ", short"}, variable: "PROXY_KEYS"},
		{name: "a key with a space", change: map[string]string{"PROXY_KEYS": testKey + ", " + s + " x"}, variable: "PROXY_KEYS"},
		{name: "secret in an origin", change: map[string]string{"PROXY_ORIGINS": "https://app.example.com/" + s}, variable: "PROXY_ORIGINS"},
		{name: "wildcard origin", change: map[string]string{"PROXY_ORIGINS": "*"}, variable: "PROXY_ORIGINS"},
		{name: "no rules", change: map[string]string{"PROXY_ALLOW": ""}, variable: "PROXY_ALLOW"},
		{name: "secret as a rule", change: map[string]string{"PROXY_ALLOW": keyRules + ", " + s}, variable: "PROXY_ALLOW"},
		{name: "secret in a rule", change: map[string]string{"PROXY_ALLOW": "key GET /tables/" + s + "*"}, variable: "PROXY_ALLOW"},
		{name: "rule without callers", change: map[string]string{"PROXY_ALLOW": "GET /tables"}, variable: "PROXY_ALLOW"},
		{name: "rule with ** inside", change: map[string]string{"PROXY_ALLOW": "key GET /**/records"}, variable: "PROXY_ALLOW"},
		{name: "rule with a dot segment", change: map[string]string{"PROXY_ALLOW": "key GET /tables/../x"}, variable: "PROXY_ALLOW"},
		{name: "public in lower case", change: map[string]string{"PROXY_ALLOW": keyRules + ", public GET /tables/Orders/records"}, variable: "PROXY_ALLOW"},
		{name: "public write without the opt-in", change: map[string]string{"PROXY_ALLOW": keyRules + ", PUBLIC POST /tables/Orders/records"}, variable: "PROXY_ALLOW"},
		{name: "public write opt-in misspelt", change: map[string]string{"PROXY_PUBLIC_WRITES": s}, variable: "PROXY_PUBLIC_WRITES"},
		{name: "access rule without Access", change: map[string]string{"PROXY_ALLOW": "access GET /tables/Orders/records"}, variable: "PROXY_ALLOW"},
		{name: "secret as the audience", change: map[string]string{"PROXY_ACCESS_TEAM_DOMAIN": "team.cloudflareaccess.com", "PROXY_ACCESS_AUD": s}, variable: "PROXY_ACCESS_AUD"},
		{name: "team domain with a path", change: map[string]string{"PROXY_ACCESS_TEAM_DOMAIN": "https://team.cloudflareaccess.com/" + s, "PROXY_ACCESS_AUD": strings.Repeat("a", 64)}, variable: "PROXY_ACCESS_TEAM_DOMAIN"},
		{name: "team domain over http", change: map[string]string{"PROXY_ACCESS_TEAM_DOMAIN": "http://team.cloudflareaccess.com", "PROXY_ACCESS_AUD": strings.Repeat("a", 64)}, variable: "PROXY_ACCESS_TEAM_DOMAIN"},
		{name: "audience without a team", change: map[string]string{"PROXY_ACCESS_AUD": strings.Repeat("a", 64)}, variable: "PROXY_ACCESS_TEAM_DOMAIN"},
		{name: "relative prefix", change: map[string]string{"PROXY_PREFIX": "caspio"}, variable: "PROXY_PREFIX"},
		{name: "secret in the prefix", change: map[string]string{"PROXY_PREFIX": "/" + s + "?"}, variable: "PROXY_PREFIX"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := baseEnv("http://127.0.0.1:9")
			for k, v := range tc.change {
				env[k] = v
			}
			var logs bytes.Buffer
			h := newProxy(getenv(env), deps{Store: memoryStore, Logger: log.New(&logs, "", 0)})
			for _, header := range []map[string]string{nil, {"Origin": appOrigin}, {"X-Proxy-Key": "not-one-of-the-keys-at-all"}} {
				rec, body := get(h, "GET", "/caspio/tables/Orders/records", header)
				assert.Equal(t, http.StatusUnauthorized, rec.Code, "an unauthenticated caller learns nothing: %s", rec.Body)
				assert.Equal(t, "unauthenticated", body["error"])
			}
			rec, body := get(h, "GET", "/caspio/tables/Orders/records", map[string]string{"X-Proxy-Key": testKey})
			assert.Equal(t, http.StatusInternalServerError, rec.Code, rec.Body.String())
			assert.Equal(t, "proxy_misconfigured", body["error"])
			assert.Len(t, body["request_id"], 32)
			assert.NotRegexp(t, `PROXY_|CASPIO_`, rec.Body.String(), "the answer names no variable")
			var line string
			for _, l := range strings.Split(logs.String(), "\n") {
				if body["request_id"] != "" && strings.Contains(l, body["request_id"]) {
					line = l
				}
			}
			assert.Contains(t, line, tc.variable, "the log line of the request ID names the variable:\n%s", logs.String())
			for _, secret := range []string{misplaced, testSecret, testKey} {
				assert.NotContains(t, rec.Body.String(), secret)
				assert.NotContains(t, logs.String(), secret)
			}
		})
	}
}

func TestRulesNeedTheirCallers(t *testing.T) {
	env := baseEnv("http://127.0.0.1:9")
	env["PROXY_KEYS"] = ""
	env["PROXY_ALLOW"] = "key GET /tables/Orders/records, access GET /tables/Orders/records, key+access GET /tables/x, PUBLIC GET /tables/y"
	assert.Equal(t, []string{
		"PROXY_ALLOW rule 1 is for key callers, but PROXY_KEYS has no key",
		"PROXY_ALLOW rule 2 is for access callers, but PROXY_ACCESS_TEAM_DOMAIN and PROXY_ACCESS_AUD are not set",
		"PROXY_ALLOW rule 3 is for key or access callers, but PROXY_KEYS has no key and PROXY_ACCESS_TEAM_DOMAIN and PROXY_ACCESS_AUD are not set",
	}, loadConfig(getenv(env)).problems)
}

func TestRules(t *testing.T) {
	for _, tc := range []struct {
		text    string
		callers callerKind
		method  string
	}{
		{"key GET /tables/Orders/records", callerKey, "GET"},
		{"access get /tables/*/fields", callerAccess, "GET"},
		{"KEY+access POST /tables/**", callerKey | callerAccess, "POST"},
		{"PUBLIC GET /views/Menu/records", callerPublic, "GET"},
	} {
		r, why := parseRule(tc.text)
		require.Empty(t, why, tc.text)
		assert.Equal(t, tc.callers, r.callers, tc.text)
		assert.Equal(t, tc.method, r.method, tc.text)
	}
	for text, want := range map[string]string{
		"GET /tables":                        "has 2 fields",
		"anyone GET /tables":                 "does not start with who may use it",
		"public GET /tables":                 "not in capitals",
		"key+PUBLIC GET /tables":             "combines PUBLIC",
		"key G3T /tables":                    "not letters only",
		"key OPTIONS /tables":                "OPTIONS",
		"key GET tables":                     "does not start with /",
		"key GET /tables//x":                 "empty or dot path segment 2",
		"key GET /tables/Ord*":               "* inside path segment 2",
		"key GET /tables/a;b":                "';' in path segment 2 at position 2",
		"key GET /tables/x%2e":               "'%'",
		"key GET /**/x":                      "** as path segment 1",
		"key GET /tables/Orders/records x y": "has 5 fields",
	} {
		_, why := parseRule(text)
		assert.Contains(t, why, want, text)
	}
}

func TestRuleMatches(t *testing.T) {
	cases := []struct {
		rule, method, path string
		want               bool
	}{
		{"key GET /tables/Orders/records", "GET", "/tables/Orders/records", true},
		{"key GET /tables/Orders/records", "POST", "/tables/Orders/records", false},
		{"key GET /tables/Orders/records", "GET", "/tables/orders/records", false},
		{"key GET /tables/Orders/records", "GET", "/tables/Orders/records/1", false},
		{"key GET /tables/Orders/records", "GET", "/tables/Orders", false},
		{"key GET /tables/*/records", "GET", "/tables/Customers/records", true},
		{"key GET /tables/*/records", "GET", "/tables/a/b/records", false},
		{"key GET /tables/**", "GET", "/tables", true},
		{"key GET /tables/**", "GET", "/tables/x/y/z", true},
		{"key GET /tables/**", "GET", "/views/x", false},
		{"key delete /**", "DELETE", "/anything/at/all", true},
	}
	for _, tc := range cases {
		r, why := parseRule(tc.rule)
		require.Empty(t, why, tc.rule)
		segs, why := caspio.ParseResourcePath(tc.path)
		require.Empty(t, why, tc.path)
		assert.Equal(t, tc.want, r.matches(tc.method, segs), "%s vs %s %s", tc.rule, tc.method, tc.path)
	}
}

// rsaKey is a key pair made for one test, published under kid.
type rsaKey struct {
	kid  string
	priv *rsa.PrivateKey
}

func newRSAKey(t *testing.T) rsaKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	var id [16]byte
	_, _ = rand.Read(id[:])
	return rsaKey{kid: hex.EncodeToString(id[:]), priv: priv}
}

func (k rsaKey) jwk() map[string]string {
	b64 := base64.RawURLEncoding.EncodeToString
	return map[string]string{"kty": "RSA", "kid": k.kid, "alg": "RS256", "use": "sig",
		"n": b64(k.priv.N.Bytes()), "e": b64(big.NewInt(int64(k.priv.E)).Bytes())}
}

// sign makes a token as Cloudflare Access does, with header fields and claims merged in.
func (k rsaKey) sign(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": "RS256", "kid": k.kid, "typ": "JWT"}
	for key, v := range header {
		h[key] = v
	}
	enc := func(v any) string {
		data, err := json.Marshal(v)
		require.NoError(t, err)
		return base64.RawURLEncoding.EncodeToString(data)
	}
	signed := enc(h) + "." + enc(claims)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.priv, crypto.SHA256, digest[:])
	require.NoError(t, err)
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// accessTeam serves a team's published keys on loopback and counts their fetches.
type accessTeam struct {
	*httptest.Server
	key     rsaKey
	aud     string
	fetches atomic.Int32
	down    atomic.Bool
}

func newAccessTeam(t *testing.T) *accessTeam {
	team := &accessTeam{key: newRSAKey(t), aud: strings.Repeat("ab", 32)}
	team.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cdn-cgi/access/certs" || team.down.Load() {
			http.NotFound(w, r)
			return
		}
		team.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{team.key.jwk()}, "public_cert": map[string]string{"kid": team.key.kid}})
	}))
	t.Cleanup(team.Close)
	return team
}

func (team *accessTeam) claims(now time.Time, change map[string]any) map[string]any {
	c := map[string]any{"aud": []string{team.aud}, "iss": team.URL, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
		"nbf": now.Unix(), "email": "user@example.com", "sub": "7335d417", "type": "app"}
	for k, v := range change {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func TestAccessVerify(t *testing.T) {
	team := newAccessTeam(t)
	other := newRSAKey(t)
	now := time.Now()
	clock := now
	var logs bytes.Buffer
	v := &accessVerifier{
		cfg:   &accessConfig{issuer: team.URL, certsURL: team.URL + "/cdn-cgi/access/certs", audiences: []string{strings.Repeat("0", 64), team.aud}},
		http:  &http.Client{},
		cache: &memoryKeyCache{},
		now:   func() time.Time { return clock },
		log:   log.New(&logs, "", 0),
	}
	ctx := t.Context()
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	valid := team.key.sign(t, nil, team.claims(now, nil))
	parts := strings.Split(valid, ".")
	cases := []struct {
		name, token, want string
	}{
		{"valid", valid, ""},
		{"aud as a string", team.key.sign(t, nil, team.claims(now, map[string]any{"aud": team.aud})), ""},
		{"expired", team.key.sign(t, nil, team.claims(now, map[string]any{"exp": now.Add(-time.Second).Unix()})), "has expired"},
		{"another audience", team.key.sign(t, nil, team.claims(now, map[string]any{"aud": []string{strings.Repeat("f", 64)}})), "another Access application"},
		{"another key", other.sign(t, map[string]any{"kid": team.key.kid}, team.claims(now, nil)), "signature that does not verify"},
		{"an unknown key", other.sign(t, nil, team.claims(now, nil)), "key that the team's Access keys do not include"},
		{"another team", team.key.sign(t, nil, team.claims(now, map[string]any{"iss": "https://other.cloudflareaccess.com"})), "another team"},
		{"not yet valid", team.key.sign(t, nil, team.claims(now, map[string]any{"nbf": now.Add(time.Hour).Unix()})), "not valid yet"},
		{"no expiry", team.key.sign(t, nil, team.claims(now, map[string]any{"exp": nil})), "no expiry"},
		{"alg none", enc(`{"alg":"none","kid":"`+team.key.kid+`"}`) + "." + parts[1] + ".", "empty part 3"},
		{"alg HS256", enc(`{"alg":"HS256","kid":"`+team.key.kid+`"}`) + "." + parts[1] + "." + parts[2], "RS256"},
		{"no kid", team.key.sign(t, map[string]any{"kid": ""}, team.claims(now, nil)), "no key ID"},
		{"a changed payload", parts[0] + "." + enc(`{"aud":"`+team.aud+`","iss":"`+team.URL+`","exp":9999999999}`) + "." + parts[2], "does not verify"},
		{"two parts", parts[0] + "." + parts[1], "has 2 dot-separated parts"},
		{"not base64url", parts[0] + "." + parts[1] + "." + misplaced + "!", "outside base64url"},
		{"not JSON", enc("{") + "." + parts[1] + "." + parts[2], "not base64url-encoded JSON"},
		{"too long", strings.Repeat("a", maxAccessToken+1), "at most 8192"},
	}
	for _, tc := range cases {
		why, err := v.verify(ctx, tc.token)
		require.NoError(t, err, tc.name)
		if tc.want == "" {
			assert.Empty(t, why, tc.name)
		} else {
			assert.Contains(t, why, tc.want, tc.name)
			assert.NotContains(t, why, misplaced, tc.name)
		}
	}
	assert.EqualValues(t, 1, team.fetches.Load(), "the keys were fetched once for %d tokens", len(cases))

	// An unknown kid fetches the keys again after a minute; a down endpoint keeps the old keys.
	clock = now.Add(2 * time.Minute)
	why, _ := v.verify(ctx, other.sign(t, nil, team.claims(now, nil)))
	assert.Contains(t, why, "do not include")
	assert.EqualValues(t, 2, team.fetches.Load())
	team.down.Store(true)
	clock = now.Add(2 * time.Hour)
	why, err := v.verify(ctx, team.key.sign(t, nil, team.claims(clock, nil)))
	assert.NoError(t, err)
	assert.Empty(t, why, "stale keys are used while the endpoint is down")
	assert.Contains(t, logs.String(), "the keys fetched before are used")
	fresh := &accessVerifier{cfg: v.cfg, http: v.http, cache: &memoryKeyCache{}, now: time.Now, log: v.log}
	_, err = fresh.verify(ctx, valid)
	assert.ErrorIs(t, err, errKeysUnavailable, "no keys at all: unavailable")
}

// upstream records what reaches the sandbox.
type upstream struct {
	mu   sync.Mutex
	seen []*http.Request
	next http.Handler
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.seen = append(u.seen, r.Clone(r.Context()))
	u.mu.Unlock()
	u.next.ServeHTTP(w, r)
}

func (u *upstream) requests() []*http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]*http.Request(nil), u.seen...)
}

func TestProxyAgainstSandbox(t *testing.T) {
	sb := sandbox.New(sandbox.Options{ClientSecret: testSecret})
	up := &upstream{next: sb}
	ts := httptest.NewServer(up)
	defer ts.Close()
	team := newAccessTeam(t)
	env := baseEnv(ts.URL)
	env["PROXY_ACCESS_TEAM_DOMAIN"] = team.URL
	env["PROXY_ACCESS_AUD"] = team.aud
	env["PROXY_ALLOW"] = keyRules + ", access GET /tables/Customers/records, PUBLIC GET /tables/Products/records"
	var logs bytes.Buffer
	h := newProxy(getenv(env), deps{Store: memoryStore, Logger: log.New(&logs, "", 0), Now: sb.Now})
	proxy := httptest.NewServer(h)
	defer proxy.Close()

	do := func(method, path string, header map[string]string, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, proxy.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		if body == "" {
			req.Body = nil
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		require.NoError(t, err)
		return resp
	}
	key := map[string]string{"X-Proxy-Key": testKey, "Authorization": "Bearer caller-token", "Cookie": "c=1"}
	readAll := func(resp *http.Response) string {
		data, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		for _, values := range resp.Header {
			for _, v := range values {
				assert.NotContains(t, v, testSecret)
			}
		}
		assert.NotContains(t, string(data), testSecret)
		return string(data)
	}
	signedIn := map[string]string{"Cf-Access-Jwt-Assertion": team.key.sign(t, nil, team.claims(time.Now(), nil))}

	cases := []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
		contains           string
	}{
		{name: "GET records", method: "GET", path: "/caspio/tables/Orders/records?q.pageSize=5", header: key, status: 200, contains: `"Result"`},
		{name: "the old key of a rotation", method: "GET", path: "/caspio/tables/Orders/records?q.pageSize=5", header: map[string]string{"X-Proxy-Key": oldKey}, status: 200, contains: `"Result"`},
		{name: "POST record", method: "POST", path: "/caspio/tables/Orders/records?response=rows", header: map[string]string{"X-Proxy-Key": testKey, "Content-Type": "application/json"}, body: `{"CustomerID":1,"Product":"x","Quantity":1}`, status: 201, contains: `"Product":"x"`},
		{name: "Caspio error passes through", method: "GET", path: "/caspio/tables/Customers/records/none", header: key, status: 404, contains: "ObjectNotFound"},
		{name: "no key", method: "GET", path: "/caspio/tables/Orders/records", status: 401, contains: "unauthenticated"},
		{name: "wrong key", method: "GET", path: "/caspio/tables/Orders/records", header: map[string]string{"X-Proxy-Key": testKey + "x"}, status: 401, contains: "unauthenticated"},
		{name: "forged allowed origin without a key", method: "GET", path: "/caspio/tables/Orders/records", header: map[string]string{"Origin": appOrigin}, status: 401, contains: "unauthenticated"},
		{name: "access caller on an access rule", method: "GET", path: "/caspio/tables/Customers/records?q.pageSize=5", header: signedIn, status: 200, contains: `"Result"`},
		{name: "access caller on a key rule", method: "GET", path: "/caspio/tables/Orders/records", header: signedIn, status: 403, contains: "forbidden"},
		{name: "anyone on a PUBLIC rule", method: "GET", path: "/caspio/tables/Products/records?q.pageSize=5", status: 200, contains: `"Result"`},
		{name: "anyone on a rule that is not theirs", method: "GET", path: "/caspio/tables/Customers/records", status: 401, contains: "unauthenticated"},
		{name: "disallowed method", method: "DELETE", path: "/caspio/tables/Orders/records?q.where=PK_ID=1", header: key, status: 403, contains: "forbidden"},
		{name: "disallowed path", method: "GET", path: "/caspio/views/Products/records", header: key, status: 403, contains: "forbidden"},
		{name: "token endpoint as a resource path", method: "POST", path: "/caspio/oauth/token", header: key, body: "grant_type=client_credentials", status: 403, contains: "forbidden"},
		{name: "outside the prefix", method: "GET", path: "/oauth/token", header: key, status: 404, contains: "not_found"},
		{name: "encoded dot dot", method: "GET", path: "/caspio/tables/%2e%2e/%2e%2e/oauth/token", header: key, status: 400, contains: "bad_path"},
		{name: "encoded slash", method: "GET", path: "/caspio/tables%2FOrders/records", header: key, status: 400, contains: "bad_path"},
		{name: "empty segment", method: "GET", path: "/caspio//tables/Orders/records", header: key, status: 400, contains: "bad_path"},
		{name: "at sign", method: "GET", path: "/caspio/@127.0.0.1:9/x", header: key, status: 400, contains: "bad_path"},
		{name: "dot dot semicolon under a * rule", method: "GET", path: "/caspio/tables/..;/fields", header: key, status: 400, contains: "bad_path"},
		{name: "double-encoded dots under a * rule", method: "GET", path: "/caspio/tables/%252e%252e/fields", header: key, status: 400, contains: "bad_path"},
		{name: "overlong UTF-8 dots under a * rule", method: "GET", path: "/caspio/tables/%C0%AE%C0%AE/fields", header: key, status: 400, contains: "bad_path"},
		{name: "fullwidth dots under a * rule", method: "GET", path: "/caspio/tables/%EF%BC%8E%EF%BC%8E/fields", header: key, status: 400, contains: "bad_path"},
		{name: "other API version", method: "GET", path: "/caspio/v3/tables/Orders/records", header: key, status: 400, contains: "bad_path"},
		{name: "allowed origin with a key", method: "GET", path: "/caspio/tables/Orders/records?q.pageSize=5", header: map[string]string{"Origin": appOrigin, "X-Proxy-Key": testKey}, status: 200, contains: `"Result"`},
		{name: "other origin with a key", method: "GET", path: "/caspio/tables/Orders/records", header: map[string]string{"Origin": "https://evil.example", "X-Proxy-Key": testKey}, status: 200, contains: `"Result"`},
		{name: "preflight", method: "OPTIONS", path: "/caspio/tables/Orders/records", header: map[string]string{"Origin": appOrigin, "Access-Control-Request-Method": "POST"}, status: 204},
		{name: "preflight from another origin", method: "OPTIONS", path: "/caspio/tables/Orders/records", header: map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}, status: 403, contains: "forbidden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(tc.method, tc.path, tc.header, tc.body)
			body := readAll(resp)
			assert.Equal(t, tc.status, resp.StatusCode, body)
			assert.Contains(t, body, tc.contains)
			if tc.header["Origin"] == appOrigin {
				assert.Equal(t, appOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
				assert.Contains(t, resp.Header.Values("Vary"), "Origin")
			} else {
				assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
			}
			if tc.method == "OPTIONS" && tc.status == 204 {
				assert.Equal(t, "GET, POST", resp.Header.Get("Access-Control-Allow-Methods"))
				assert.Equal(t, "Content-Type, Accept, X-Proxy-Key", resp.Header.Get("Access-Control-Allow-Headers"))
			}
			if tc.status == 404 && tc.contains == "ObjectNotFound" {
				assert.NotEmpty(t, resp.Header.Get("X-Caspio-Request-ID"))
			}
		})
	}

	for _, r := range up.requests() {
		if r.URL.Path == "/oauth/token" {
			continue
		}
		assert.True(t, strings.HasPrefix(r.URL.Path, "/rest/v2/tables/"), "only resource routes are reached, not %s", r.URL.Path)
		assert.True(t, strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "), "the proxy's token is sent")
		assert.NotEqual(t, "Bearer caller-token", r.Header.Get("Authorization"))
		assert.Empty(t, r.Header.Get("Cookie"))
		assert.Empty(t, r.Header.Get("X-Proxy-Key"))
		assert.Empty(t, r.Header.Get("Cf-Access-Jwt-Assertion"))
	}
	stats := sb.Stats()
	assert.Equal(t, 1, stats.TokenRequests["client_credentials"], "one login for every request")
	assert.Equal(t, 8, stats.ResourceRequests, "only the allowed requests reached Caspio")
	assert.Contains(t, logs.String(), "GET /tables/Customers/records 200")
	assert.NotContains(t, logs.String(), testSecret)
	assert.NotContains(t, logs.String(), testKey)
	assert.NotContains(t, logs.String(), signedIn["Cf-Access-Jwt-Assertion"])
}

// endless is a body of n spaces that counts how much of it was read.
type endless struct {
	n, read int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.read >= e.n {
		return 0, io.EOF
	}
	k := min(int64(len(p)), e.n-e.read)
	for i := range p[:k] {
		p[i] = ' '
	}
	e.read += k
	return int(k), nil
}

func TestBodyLimit(t *testing.T) {
	sb := sandbox.New(sandbox.Options{ClientSecret: testSecret})
	ts := httptest.NewServer(sb)
	defer ts.Close()
	h := newProxy(getenv(baseEnv(ts.URL)), deps{Store: memoryStore, Now: sb.Now})
	post := func(body io.Reader, length int64) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/caspio/tables/Orders/records", body)
		req.Header.Set("X-Proxy-Key", testKey)
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = length
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	// Chunked (no length): counted as it streams, stopped one byte past the limit.
	huge := &endless{n: 256 << 20}
	rec := post(huge, -1)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), "too_large")
	assert.LessOrEqual(t, huge.read, int64(maxBody+64<<10), "read %d bytes of a 256 MiB body", huge.read)
	// A declared length over the limit: refused before anything is read.
	declared := &endless{n: 256 << 20}
	rec = post(declared, 256<<20)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Zero(t, declared.read)
	// At the limit: forwarded (the sandbox refuses it as a record, after the proxy sent it).
	rec = post(&endless{n: maxBody}, -1)
	assert.NotEqual(t, http.StatusRequestEntityTooLarge, rec.Code, rec.Body.String())
	assert.Equal(t, 1, sb.Stats().ResourceRequests)
}

func TestTokenEndpointOutage(t *testing.T) {
	sb := sandbox.New(sandbox.Options{ClientSecret: testSecret})
	ts := httptest.NewServer(sb)
	defer ts.Close()
	h := newProxy(getenv(baseEnv(ts.URL)), deps{Store: memoryStore, Now: sb.Now})
	key := map[string]string{"X-Proxy-Key": testKey}
	for _, status := range []int{500, 503, 429} {
		require.NoError(t, sb.InjectFault(sandbox.Fault{Route: "/oauth/token", Status: status, Count: 10, RetryAfter: "0"}))
		rec, body := get(h, "GET", "/caspio/tables/Orders/records", key)
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "token endpoint %d: %s", status, rec.Body)
		assert.Equal(t, "caspio_unavailable", body["error"])
		assert.NotContains(t, body["message"], "refused")
		sb.Reset()
	}
	for _, status := range []int{400, 401} {
		errBody := `{"error":"invalid_client"}`
		require.NoError(t, sb.InjectFault(sandbox.Fault{Route: "/oauth/token", Status: status, Count: 10, Body: &errBody}))
		rec, body := get(h, "GET", "/caspio/tables/Orders/records", key)
		assert.Equal(t, http.StatusBadGateway, rec.Code, "token endpoint %d: %s", status, rec.Body)
		assert.Equal(t, "caspio_auth_failed", body["error"])
		assert.Equal(t, "Caspio refused the proxy's credentials (invalid_client)", body["message"])
		sb.Reset()
	}
	rec, _ := get(h, "GET", "/caspio/tables/Orders/records", key)
	assert.Equal(t, http.StatusOK, rec.Code, "served once Caspio is back")
}

// BenchmarkAccessVerify measures one Access token check with the keys already cached: the
// CPU a Go Worker spends per signed-in request (GOOS=js GOARCH=wasm go test -bench . runs it
// in WebAssembly).
func BenchmarkAccessVerify(b *testing.B) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(b, err)
	key := rsaKey{kid: "k1", priv: priv}
	jwks, err := json.Marshal(map[string]any{"keys": []any{key.jwk()}})
	require.NoError(b, err)
	now := time.Now()
	cache := &memoryKeyCache{}
	cfg := &accessConfig{issuer: "https://team.cloudflareaccess.com", certsURL: "https://team.cloudflareaccess.com/cdn-cgi/access/certs", audiences: []string{strings.Repeat("ab", 32)}}
	cache.Store(b.Context(), cfg.certsURL, jwks, now)
	v := &accessVerifier{cfg: cfg, http: &http.Client{}, cache: cache, now: time.Now, log: log.New(io.Discard, "", 0)}
	token := key.sign(b, nil, map[string]any{"aud": cfg.audiences, "iss": cfg.issuer, "exp": now.Add(time.Hour).Unix()})
	for b.Loop() {
		if why, err := v.verify(b.Context(), token); why != "" || err != nil {
			b.Fatal(why, err)
		}
	}
}
