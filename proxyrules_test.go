package caspio_test

import (
	"testing"

	"github.com/caspio-auth/caspio"
	"github.com/stretchr/testify/assert"
)

// The path rules of the proxies (proxy/ and examples/go-proxy), whose answers
// tests/workers/proxy-conformance.js checks through both.
func TestParseResourcePath(t *testing.T) {
	for _, p := range []string{
		"/tables/../oauth/token", "/./tables", "/tables/%2e%2e/x", "/tables/%2E./x", "/tables%2fOrders",
		"/tables%2Frecords", "/tables/a%5cb", "/tables\\x", "/tables//records", "/tables/", "//evil.example/x",
		"/@evil.example/x", "/tables/x%40evil", "/http://evil.example/x", "/tables/%00", "/tables/%7f",
		// Odd segments that a "*" would match.
		"/tables/..;/fields", "/tables/..;x=1/fields", "/tables/a;b/fields", "/tables/%252e%252e/fields",
		"/tables/%252E%252E/fields", "/tables/a%252fb/fields", "/tables/%C0%AE%C0%AE/fields", "/tables/x%C0%AFy/fields",
		"/tables/%E0%80%AE/fields", "/tables/%FF/fields", "/tables/%EF%BC%8E%EF%BC%8E/fields", "/tables/\uff0e\uff0e/fields",
		"/tables/%E2%80%A4%E2%80%A4/fields", "/tables/%EF%B9%92/fields", "/tables/x%EF%BC%8Fy/fields", "/tables/x%E2%88%95y/fields",
		"/tables/.../fields", "/tables/..%20/fields", "/tables/%20x/fields", "/tables/Orders./fields", "/tables/%zz/fields",
		"/tables/%2/fields", "/tables/x%3Fy/fields", "/tables/x%23y/fields", "/tables/x%3Ay/fields", "/tables/x%22y/fields",
		"/tables/%E2%92%88/fields", // DIGIT ONE FULL STOP, "1." under NFKC
	} {
		_, why := caspio.ParseResourcePath(p)
		assert.NotEmpty(t, why, p)
	}
	for p, want := range map[string][]string{
		"/tables":                      {"tables"},
		"/tables/Orders/records":       {"tables", "Orders", "records"},
		"/tables/My%20Table/records":   {"tables", "My Table", "records"},
		"/tables/%4Frders/records":     {"tables", "Orders", "records"},
		"/tables/Caf%C3%A9s.2024/x":    {"tables", "Cafés.2024", "x"},
		"/tables/%E8%A1%A8%EF%BC%91/x": {"tables", "表１", "x"},
		"/v2/tables":                   {"v2", "tables"},
	} {
		segs, why := caspio.ParseResourcePath(p)
		assert.Empty(t, why, p)
		assert.Equal(t, want, segs, p)
	}
	_, why := caspio.ParseResourcePath("/tables/..;/fields")
	assert.Equal(t, "has ';' in segment 2 at position 3", why)
	_, why = caspio.ParseResourcePath("/tables/%EF%BC%8E%EF%BC%8E/fields")
	assert.Equal(t, "has U+FF0E, which is not a letter or digit, in segment 2 at position 1", why)
	assert.Equal(t, "/tables/Caf%C3%A9s%20%282%29.x~y", caspio.ResourceRef([]string{"tables", "Cafés (2).x~y"}))
	assert.Equal(t, "/", caspio.ResourceRef(nil))
	what, at := caspio.BadResourceChar("Orders;x")
	assert.Equal(t, "';'", what)
	assert.Equal(t, 7, at)
	what, _ = caspio.BadResourceChar("Cafés 表１ (2)")
	assert.Empty(t, what)
}

func TestProxyTokenFailure(t *testing.T) {
	for _, tc := range []struct {
		name          string
		status        int
		refused       bool
		errorCode     string
		answer        int
		code, message string
	}{
		{"credentials refused", 401, true, "invalid_client", 502, "caspio_auth_failed", "Caspio refused the proxy's credentials (invalid_client)"},
		{"a code that is no code is not shown", 400, true, "Bad Client!", 502, "caspio_auth_failed", "Caspio refused the proxy's credentials (HTTP 400)"},
		{"rate limited", 429, false, "", 503, "caspio_unavailable", "Caspio's token endpoint is unavailable (HTTP 429); try again later"},
		{"server error, even with an OAuth error", 500, true, "server_error", 503, "caspio_unavailable", "Caspio's token endpoint is unavailable (HTTP 500); try again later"},
		{"a 401 that is no OAuth error", 401, false, "", 502, "caspio_unreachable", "the token request to Caspio failed (HTTP 401)"},
		{"an odd status", 302, false, "", 502, "caspio_unreachable", "the token request to Caspio failed (HTTP 302)"},
		{"no answer", 0, false, "", 502, "caspio_unreachable", "the request to Caspio failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer, code, message := caspio.ProxyTokenFailure(tc.status, tc.refused, tc.errorCode)
			assert.Equal(t, tc.answer, answer)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.message, message)
		})
	}
}
