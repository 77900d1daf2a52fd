package caspio_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
)

// TestConfigPrintsAsErrorsDo: a Config printed with the fmt verbs meant for it or encoded as
// JSON shows no password in a URL's user info and no secret pasted into the wrong field,
// only its shape, as errors show such values.
func TestConfigPrintsAsErrorsDo(t *testing.T) {
	const pw = "pa55w0rd"
	cases := []struct {
		name string
		cfg  caspio.Config
		want string // String's output
	}{
		{"user info in IntegrationURL", caspio.Config{IntegrationURL: "https://id:" + pw + "@c1abc123.caspio.com"},
			"caspio.Config{IntegrationURL: https://[redacted]@c1abc123.caspio.com}"},
		{"user info with a slash in TokenURL", caspio.Config{TokenURL: "https://id:" + pw + "/x@c1abc123.caspio.com/oauth/token?a=b", ResourceURL: "https://c1abc123.caspio.com/rest/v2#f"},
			"caspio.Config{TokenURL: https://[redacted]@c1abc123.caspio.com/oauth/token, ResourceURL: https://c1abc123.caspio.com/rest/v2}"},
		{"user info with a hash", caspio.Config{IntegrationURL: "HTTPS://id:" + pw + "#x@c1abc123.caspio.com"},
			"caspio.Config{IntegrationURL: HTTPS://[redacted]@c1abc123.caspio.com}"},
		{"a secret in a URL field", caspio.Config{IntegrationURL: pw + "xyzxyz"},
			"caspio.Config{IntegrationURL: [redacted: 14 characters: letters and digits]}"},
		{"a secret in Account", caspio.Config{Account: pw + "-x_y!"},
			"caspio.Config{Account: [redacted: 13 characters: letters, digits and punctuation]}"},
		{"a secret in APIVersion", caspio.Config{Account: "c1abc123", APIVersion: pw},
			"caspio.Config{Account: c1abc123, APIVersion: [redacted: 8 characters: letters and digits]}"},
		{"a secret in Credentials", caspio.Config{Account: "c1abc123", Credentials: pw},
			"caspio.Config{Account: c1abc123, Credentials: [redacted: 8 characters: letters and digits]}"},
		{"a secret in ClientID", caspio.Config{Account: "c1abc123", ClientID: "id " + pw},
			"caspio.Config{Account: c1abc123, ClientID: [redacted: 11 characters: letters, digits and spaces]}"},
		{"what NewSettings takes shows", caspio.Config{Account: " C1abc123", APIVersion: "V3 ", ClientID: "id-1", ClientSecret: caspio.NewSecret(pw), Credentials: "Basic", RefreshMargin: caspio.Minute},
			"caspio.Config{Account: c1abc123, APIVersion: v3, ClientID: id-1, ClientSecret: [redacted], Credentials: basic, RefreshMargin: 60000ms}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.cfg.String())
			for name, v := range map[string]any{"Config": tc.cfg, "*Config": &tc.cfg, "a struct holding one": struct{ C caspio.Config }{tc.cfg}} {
				for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%o", "%10.40s", "%-8v"} {
					out := fmt.Sprintf(verb, v)
					assert.NotContains(t, out, pw, "%s printed with %s", name, verb)
					assert.NotContains(t, out, fmt.Sprintf("%x", pw), "%s printed with %s", name, verb)
				}
				js, err := json.Marshal(v)
				require.NoError(t, err)
				assert.NotContains(t, string(js), pw, "%s as JSON", name)
				assert.True(t, json.Valid(js), "%s as JSON: %s", name, js)
			}
		})
	}
}

// TestConfigFormatVerbs: every verb formats String's text, as the verb says: a width, a
// precision and the hex verbs apply to it, and a verb for numbers marks itself.
func TestConfigFormatVerbs(t *testing.T) {
	cfg := caspio.Config{Account: "c1abc123", ClientID: "id-1"}
	s := cfg.String()
	for _, tc := range []struct{ verb, want string }{
		{"%v", s}, {"%+v", s}, {"%#v", s}, {"%s", s}, {"%q", fmt.Sprintf("%q", s)},
		{"%x", fmt.Sprintf("%x", s)}, {"%X", fmt.Sprintf("%X", s)}, {"%.14s", "caspio.Config{"},
		{"%d", "%!d(caspio.Config=" + s + ")"},
	} {
		assert.Equal(t, tc.want, fmt.Sprintf(tc.verb, cfg), tc.verb)
	}
}

// TestConfigJSONHasEveryField: MarshalJSON keeps the shape encoding/json gave a Config, every
// field with its Go name, only with each value shown as String shows it.
func TestConfigJSONHasEveryField(t *testing.T) {
	js, err := json.Marshal(caspio.Config{Account: "c1abc123", ClientID: "id-1", ClientSecret: caspio.NewSecret("s"), RefreshMargin: caspio.Minute})
	require.NoError(t, err)
	assert.JSONEq(t, `{"Account":"c1abc123","IntegrationURL":"","TokenURL":"","ResourceURL":"","APIVersion":"","ClientID":"id-1","ClientSecret":"[redacted]","Credentials":"","RefreshMargin":60000}`, string(js))
}

// TestEndpointDotSegments: a configured endpoint's path is refused for a dot segment however
// it is spelled, by the judge that resource paths and redirects use; a URL parser reads %2e
// as a dot, so /x/%2e%2e/oauth/token is /oauth/token to the platform that sends it.
func TestEndpointDotSegments(t *testing.T) {
	const base = "https://c1abc123.caspio.com"
	for _, path := range []string{"/x/../oauth/token", "/x/%2e%2E/oauth/token", "/x/.%2e/oauth/token", "/oauth/%2e/token", "/oauth/token/%2E"} {
		t.Run(path, func(t *testing.T) {
			_, err := caspio.NewSettings(caspio.Config{TokenURL: base + path, ResourceURL: base + "/rest/v2", ClientID: "id", ClientSecret: caspio.NewSecret("s")})
			var cerr *caspio.ConfigError
			require.ErrorAs(t, err, &cerr)
			assert.Equal(t, "TokenURL", cerr.Field)
			assert.Contains(t, cerr.Problem, "dot segment")
		})
	}
	_, err := caspio.NewSettings(caspio.Config{TokenURL: base + "/oauth/%2etoken", ResourceURL: base + "/rest/v2", ClientID: "id", ClientSecret: caspio.NewSecret("s")})
	assert.NoError(t, err, "a segment that only starts with a dot is no dot segment")
}
