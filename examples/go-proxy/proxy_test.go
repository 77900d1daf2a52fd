package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/sandbox"
)

const (
	testSecret = "s3cret-proxy-Zq8vKx1-never-print-me"
	testKey    = "proxy-key-Lw93hd0a-also-secret"
	appOrigin  = "https://app.example.com"
)

func baseEnv(integrationURL string) map[string]string {
	return map[string]string{
		"CASPIO_INTEGRATION_URL": integrationURL,
		"CASPIO_CLIENT_ID":       sandbox.DefaultClientID,
		"CASPIO_CLIENT_SECRET":   testSecret,
		"PROXY_KEYS":             "other-key, " + testKey,
		"PROXY_ORIGINS":          appOrigin,
		"PROXY_ALLOW":            "GET /tables/Orders/records, GET /tables/Customers/**, POST /tables/Orders/records, get /tables/*/fields",
	}
}

func getenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name     string
		change   map[string]string
		variable string
	}{
		{name: "no endpoint", change: map[string]string{"CASPIO_INTEGRATION_URL": ""}, variable: "CASPIO_ACCOUNT"},
		{name: "bad account", change: map[string]string{"CASPIO_INTEGRATION_URL": "", "CASPIO_ACCOUNT": "not an account"}, variable: "CASPIO_ACCOUNT"},
		{name: "token URL without resource URL", change: map[string]string{"CASPIO_INTEGRATION_URL": "", "CASPIO_TOKEN_URL": "https://c1.caspio.com/oauth/token"}, variable: "CASPIO_RESOURCE_URL"},
		{name: "bad API version", change: map[string]string{"CASPIO_API_VERSION": "v9"}, variable: "CASPIO_API_VERSION"},
		{name: "no client ID", change: map[string]string{"CASPIO_CLIENT_ID": ""}, variable: "CASPIO_CLIENT_ID"},
		{name: "no secret", change: map[string]string{"CASPIO_CLIENT_SECRET": ""}, variable: "CASPIO_CLIENT_SECRET"},
		{name: "secret with a control character", change: map[string]string{"CASPIO_CLIENT_SECRET": testSecret + "\x01x"}, variable: "CASPIO_CLIENT_SECRET"},
		{name: "no way to authenticate", change: map[string]string{"PROXY_KEYS": " , ", "PROXY_ORIGINS": ""}, variable: "PROXY_KEYS"},
		{name: "origin with a path", change: map[string]string{"PROXY_ORIGINS": "https://app.example.com/x"}, variable: "PROXY_ORIGINS"},
		{name: "wildcard origin", change: map[string]string{"PROXY_ORIGINS": "*"}, variable: "PROXY_ORIGINS"},
		{name: "no rules", change: map[string]string{"PROXY_ALLOW": ""}, variable: "PROXY_ALLOW"},
		{name: "rule without a method", change: map[string]string{"PROXY_ALLOW": "/tables"}, variable: "PROXY_ALLOW"},
		{name: "rule with ** inside", change: map[string]string{"PROXY_ALLOW": "GET /**/records"}, variable: "PROXY_ALLOW"},
		{name: "rule with a partial glob", change: map[string]string{"PROXY_ALLOW": "GET /tables/Ord*"}, variable: "PROXY_ALLOW"},
		{name: "rule with a dot segment", change: map[string]string{"PROXY_ALLOW": "GET /tables/../x"}, variable: "PROXY_ALLOW"},
		{name: "relative prefix", change: map[string]string{"PROXY_PREFIX": "caspio"}, variable: "PROXY_PREFIX"},
		{name: "prefix with a dot segment", change: map[string]string{"PROXY_PREFIX": "/a/../b"}, variable: "PROXY_PREFIX"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := baseEnv("http://127.0.0.1:9")
			for k, v := range tc.change {
				env[k] = v
			}
			h := newProxy(getenv(env), deps{Store: memoryStore})
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/caspio/tables/Orders/records", nil)
			req.Header.Set("X-Proxy-Key", testKey)
			h.ServeHTTP(rec, req)
			assert.Equal(t, http.StatusInternalServerError, rec.Code)
			var body map[string]string
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			assert.Equal(t, "proxy_misconfigured", body["error"])
			assert.True(t, strings.HasPrefix(body["message"], tc.variable+" "), "message %q names %s", body["message"], tc.variable)
			assert.NotContains(t, rec.Body.String(), testSecret)
			assert.NotContains(t, rec.Body.String(), testKey)
		})
	}
}

func memoryStore(string) (client.Store, error) { return client.NewMemoryStore(), nil }

func TestRuleMatches(t *testing.T) {
	cases := []struct {
		rule, method, path string
		want               bool
	}{
		{"GET /tables/Orders/records", "GET", "/tables/Orders/records", true},
		{"GET /tables/Orders/records", "POST", "/tables/Orders/records", false},
		{"GET /tables/Orders/records", "GET", "/tables/orders/records", false},
		{"GET /tables/Orders/records", "GET", "/tables/Orders/records/1", false},
		{"GET /tables/Orders/records", "GET", "/tables/Orders", false},
		{"GET /tables/*/records", "GET", "/tables/Customers/records", true},
		{"GET /tables/*/records", "GET", "/tables/a/b/records", false},
		{"GET /tables/**", "GET", "/tables", true},
		{"GET /tables/**", "GET", "/tables/x/y/z", true},
		{"GET /tables/**", "GET", "/views/x", false},
		{"delete /**", "DELETE", "/anything/at/all", true},
	}
	for _, tc := range cases {
		r, err := parseRule(tc.rule)
		require.NoError(t, err, tc.rule)
		assert.Equal(t, tc.want, r.matches(tc.method, tc.path), "%s vs %s %s", tc.rule, tc.method, tc.path)
	}
}

func TestBadPath(t *testing.T) {
	for _, p := range []string{
		"/tables/../oauth/token", "/./tables", "/tables/%2e%2e/x", "/tables/%2E./x", "/tables%2fOrders",
		"/tables%2Frecords", "/tables/a%5cb", "/tables\\x", "/tables//records", "/tables/", "//evil.example/x",
		"/@evil.example/x", "/tables/x%40evil", "/http://evil.example/x", "/tables/%00", "/tables/%7f",
	} {
		assert.NotEmpty(t, badPath(p), p)
	}
	for _, p := range []string{"/tables", "/tables/Orders/records", "/tables/My%20Table/records", "/v2/tables"} {
		assert.Empty(t, badPath(p), p)
	}
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
	var logs bytes.Buffer
	h := newProxy(getenv(baseEnv(ts.URL)), deps{Store: memoryStore, Logger: log.New(&logs, "", 0), Now: sb.Now})
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

	cases := []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
		contains           string
	}{
		{name: "GET records", method: "GET", path: "/caspio/tables/Orders/records?q.pageSize=5", header: key, status: 200, contains: `"Result"`},
		{name: "POST record", method: "POST", path: "/caspio/tables/Orders/records", header: map[string]string{"X-Proxy-Key": testKey, "Content-Type": "application/json"}, body: `{"CustomerID":1,"Product":"x","Quantity":1}`, status: 201, contains: "RecordsAffected"},
		{name: "Caspio error passes through", method: "GET", path: "/caspio/tables/Customers/records/none", header: key, status: 404, contains: "ObjectNotFound"},
		{name: "no key", method: "GET", path: "/caspio/tables/Orders/records", status: 401, contains: "unauthenticated"},
		{name: "wrong key", method: "GET", path: "/caspio/tables/Orders/records", header: map[string]string{"X-Proxy-Key": testKey + "x"}, status: 401, contains: "unauthenticated"},
		{name: "disallowed method", method: "DELETE", path: "/caspio/tables/Orders/records?q.where=PK_ID=1", header: key, status: 403, contains: "forbidden"},
		{name: "disallowed path", method: "GET", path: "/caspio/tables/Products/records", header: key, status: 403, contains: "forbidden"},
		{name: "token endpoint as a resource path", method: "POST", path: "/caspio/oauth/token", header: key, body: "grant_type=client_credentials", status: 403, contains: "forbidden"},
		{name: "outside the prefix", method: "GET", path: "/oauth/token", header: key, status: 404, contains: "not_found"},
		{name: "encoded dot dot", method: "GET", path: "/caspio/tables/%2e%2e/%2e%2e/oauth/token", header: key, status: 400, contains: "bad_path"},
		{name: "encoded slash", method: "GET", path: "/caspio/tables%2FOrders/records", header: key, status: 400, contains: "bad_path"},
		{name: "empty segment", method: "GET", path: "/caspio//tables/Orders/records", header: key, status: 400, contains: "bad_path"},
		{name: "at sign", method: "GET", path: "/caspio/@127.0.0.1:9/x", header: key, status: 400, contains: "bad_path"},
		{name: "other API version", method: "GET", path: "/caspio/v3/tables/Orders/records", header: key, status: 400, contains: "bad_path"},
		{name: "allowed origin", method: "GET", path: "/caspio/tables/Orders/records?q.pageSize=5", header: map[string]string{"Origin": appOrigin}, status: 200, contains: `"Result"`},
		{name: "other origin", method: "GET", path: "/caspio/tables/Orders/records", header: map[string]string{"Origin": "https://evil.example"}, status: 401, contains: "unauthenticated"},
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
		switch r.URL.Path {
		case "/oauth/token":
			continue
		}
		assert.True(t, strings.HasPrefix(r.URL.Path, "/rest/v2/tables/"), "only resource routes are reached, not %s", r.URL.Path)
		assert.True(t, strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "), "the proxy's token is sent")
		assert.NotEqual(t, "Bearer caller-token", r.Header.Get("Authorization"))
		assert.Empty(t, r.Header.Get("Cookie"))
		assert.Empty(t, r.Header.Get("X-Proxy-Key"))
	}
	stats := sb.Stats()
	assert.Equal(t, 1, stats.TokenRequests["client_credentials"], "one login for every request")
	assert.NotContains(t, logs.String(), testSecret)
	assert.NotContains(t, logs.String(), testKey)
}
