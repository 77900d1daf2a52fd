package caspio_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
)

// TestWasmLinksNoHeavyPackages keeps the core and the npm package's WebAssembly build small:
// each of these packages costs tens to hundreds of KB in a js/wasm build (docs/design.md;
// encoding/base64 about 7 KB, for one header the core writes itself), and net/http would not
// even use fetch in Node.
func TestWasmLinksNoHeavyPackages(t *testing.T) {
	for _, pkg := range []string{".", "./wasm"} {
		cmd := exec.Command("go", "list", "-deps", pkg)
		cmd.Env = append(cmd.Environ(), "GOOS=js", "GOARCH=wasm")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		deps := strings.Fields(string(out))
		require.Contains(t, deps, "github.com/caspio-auth/caspio", "go list did not list the core for %s", pkg)
		for _, heavy := range []string{"net/http", "encoding/json", "fmt", "time", "context", "net/url", "os", "reflect", "encoding/base64"} {
			assert.NotContains(t, deps, heavy, "%s must not link %s in a GOOS=js build", pkg, heavy)
		}
	}
}

// TestFormatTagAddsOnlyFmt: a GOOS=js build with caspio_fmt (a Go Worker that logs a
// Config) has Config.Format, and with it fmt; the tag adds nothing else to the core.
func TestFormatTagAddsOnlyFmt(t *testing.T) {
	deps := func(tags ...string) []string {
		cmd := exec.Command("go", append(append([]string{"list"}, tags...), "-deps", ".")...)
		cmd.Env = append(cmd.Environ(), "GOOS=js", "GOARCH=wasm")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		return strings.Fields(string(out))
	}
	with, without := deps("-tags", "caspio_fmt"), deps()
	assert.Contains(t, with, "fmt", "a build with caspio_fmt has Config.Format")
	assert.NotContains(t, without, "fmt")
	for _, pkg := range without {
		assert.Contains(t, with, pkg)
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	const secret = "SECRET-do-not-print"
	cfg := caspio.Config{Account: "c1abc123", ClientID: "id-1", ClientSecret: caspio.NewSecret(secret)}
	settings, err := caspio.NewSettings(cfg)
	require.NoError(t, err)
	state := caspio.State{ClientID: "id-1", AccessToken: caspio.NewSecret(secret), RefreshToken: caspio.NewSecret(secret), ExpiresAt: 5}
	req := settings.TokenRequest(caspio.Authenticate, state)
	require.Contains(t, req.Body.Reveal(), secret, "the request must carry the secret on the wire")
	lease := caspio.Lease{Authorization: caspio.NewSecret("Bearer " + secret)}

	values := map[string]any{
		"Config": cfg, "*Config": &cfg, "Settings": settings, "State": state, "*State": &state,
		"Request": req, "Lease": lease, "Secret": caspio.NewSecret(secret),
		"struct holding a Config": struct{ C caspio.Config }{cfg},
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q", "%T"} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, secret, "%s printed with %s: %s", name, verb, out)
			assert.NotContains(t, out, fmt.Sprintf("%x", secret), "%s printed with %s", name, verb)
		}
		js, err := json.Marshal(v)
		if err == nil {
			assert.NotContains(t, string(js), secret, "%s as JSON", name)
		}
	}
	assert.Equal(t, "[redacted]", caspio.NewSecret(secret).String())
	assert.Equal(t, "", caspio.Secret{}.String(), "an empty secret prints as empty, so that a missing one shows")
	assert.Equal(t, secret, caspio.NewSecret(secret).Reveal())
}

func TestConfigStringShowsWhatIsSet(t *testing.T) {
	cfg := caspio.Config{Account: "c1abc123", ClientID: "id-1", ClientSecret: caspio.NewSecret("SECRET-1"), RefreshMargin: caspio.Minute}
	assert.Equal(t, "caspio.Config{Account: c1abc123, ClientID: id-1, ClientSecret: [redacted], RefreshMargin: 60000ms}", cfg.String())
}

func TestConfigErrorsNameTheFix(t *testing.T) {
	_, err := caspio.NewSettings(caspio.Config{IntegrationURL: "http://c1abc123.caspio.com", ClientID: "id", ClientSecret: caspio.NewSecret("SECRET-1")})
	require.Error(t, err)
	assert.Equal(t, "caspio: config IntegrationURL: uses http:// for a host that is not loopback; use https://: Caspio accepts HTTPS only (plain http is allowed for localhost, 127.0.0.0/8 and [::1])", err.Error())
}

// TestOneRefreshForConcurrent401s plays out two requests that failed with the same old token:
// the first 401 drops it and the client refreshes; the second finds a new token and keeps it.
func TestOneRefreshForConcurrent401s(t *testing.T) {
	settings, err := caspio.NewSettings(caspio.Config{Account: "c1abc123", ClientID: "id-1", ClientSecret: caspio.NewSecret("SECRET-1")})
	require.NoError(t, err)
	const now = caspio.UnixMilli(1_700_000_000_000)
	state := caspio.State{ClientID: "id-1", TokenURL: settings.TokenURL(), AccessToken: caspio.NewSecret("SECRET-old"),
		ObtainedAt: now, ExpiresAt: now.Add(caspio.Day), RefreshToken: caspio.NewSecret("SECRET-rt"), RefreshIssuedAt: now}
	old := settings.Decide(state, now).Lease.Authorization.Reveal()

	state, revoked := settings.Unauthorized(state, old)
	require.True(t, revoked)
	d := settings.Decide(state, now)
	require.Equal(t, caspio.Refresh, d.Action)
	res := settings.HandleTokenResponse(d.Action, state, caspio.Response{Status: 200, Body: map[string]any{
		"access_token": "SECRET-new", "token_type": "bearer", "expires_in": float64(86399)}}, now, 0, 0)
	require.NoError(t, res.Err)
	state = res.State

	state, revoked = settings.Unauthorized(state, old)
	assert.False(t, revoked, "a 401 for the old token must not drop the new one")
	assert.Equal(t, caspio.UseLease, settings.Decide(state, now).Action)
	assert.Equal(t, 1, state.Counters.Refreshes)
}

// TestMessagesDescribeValues shows what the rules of errors.go and input.go read like: the
// field at fault and the shape of a value that may be a secret, and a value that cannot be
// one as typed.
func TestMessagesDescribeValues(t *testing.T) {
	secret := caspio.NewSecret("SECRET-1")
	cases := []struct {
		name string
		cfg  caspio.Config
		want string
	}{
		{"a host as the account", caspio.Config{Account: "c1abc123.caspio.com", ClientID: "id", ClientSecret: secret},
			`caspio: config Account: is not a Caspio account ID: it has "." at character 9 of 19 (only letters and digits); use the subdomain of the integration URL, e.g. "c1abc123", or set IntegrationURL`},
		{"a password with a slash", caspio.Config{IntegrationURL: "https://id:pa/ss@c1abc123.caspio.com", ClientID: "id", ClientSecret: secret},
			`caspio: config IntegrationURL: has "@" at character 17 of 36: user info (user:password@host) is not allowed; remove it: the client sends the credentials itself, never in a URL`},
		{"an unknown API version is quoted", caspio.Config{Account: "c1abc123", APIVersion: "v4", ClientID: "id", ClientSecret: secret},
			`caspio: config APIVersion: is not a Caspio REST API version ("v4"); use "v2" or "v3"`},
		{"a token as the API version is longer than a version, and described", caspio.Config{Account: "c1abc123", APIVersion: "Zq8vKx1mN0pQ77rTzq8vKx1mN0pQ77rT-a1b2", ClientID: "id", ClientSecret: secret},
			`caspio: config APIVersion: is not a Caspio REST API version (37 characters: letters, digits and punctuation); use "v2" or "v3"`},
		{"a line break after the secret", caspio.Config{Account: "c1abc123", ClientID: "id", ClientSecret: caspio.NewSecret("abc\r\n")},
			`caspio: config ClientSecret: has a carriage return at character 4 of 5; copy the Client Secret again without surrounding white space`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := caspio.NewSettings(tc.cfg)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
	settings, err := caspio.NewSettings(caspio.Config{Account: "c1abc123", ClientID: "id", ClientSecret: secret})
	require.NoError(t, err)
	_, err = settings.ResolveURL("https://id:pa/ss@c1abc123.caspio.com/rest/v2/tables?token=x")
	assert.EqualError(t, err, `caspio: resource URL "https://[redacted]@c1abc123.caspio.com/rest/v2/tables": has user info (a name or password before "@"); credentials never go in a URL, and the bearer token only to https://c1abc123.caspio.com`)
	res := settings.HandleTokenResponse(caspio.Authenticate, caspio.State{}, caspio.Response{Status: 200,
		Body: map[string]any{"access_token": "a", "token_type": "Zq8vKx", "expires_in": float64(60)}}, 1, 0, 0)
	assert.EqualError(t, res.Err, `caspio: token endpoint response (200): token_type: expected "bearer", got a string of 6 characters: letters and digits`)
}
