package caspio_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
)

// TestShowInput holds the rule of input.go, side by side: what a message quotes of what a
// user typed, and what it only describes.
func TestShowInput(t *testing.T) {
	const secret = "Zq8vKx1mN0pQ77rTzq8vKx1mN0pQ77rT-a1b2" // 37 characters, as Caspio's secrets are long
	cases := []struct {
		name, field, value, want string
	}{
		// Quoted: names and words from fixed lists.
		{"an option as typed", "option", "--wher", `"--wher"`},
		{"a command", "command", "frobnicate", `"frobnicate"`},
		{"an API version (Config's name)", "APIVersion", "v4", `"v4"`},
		{"an API version (the JS option)", "apiVersion", "v4", `"v4"`},
		{"an API version (the CLI flag)", "--api-version", "v4", `"v4"`},
		{"an output format", "format", "xml", `"xml"`},
		{"a storage kind", "storage", "redis", `"redis"`},
		{"a credentials placement", "credentials", "header", `"header"`},
		{"a table name", "table", "Orders", `"Orders"`},
		{"a field name", "field", "Order ID", `"Order ID"`},
		{"a quote in a name is escaped", "option", `--a"b`, `"--a\"b"`},
		{"a name of 24 characters", "table", "Order_Lines_2026_Archive", `"Order_Lines_2026_Archive"`},
		{"a name longer than any is described", "apiVersion", "misplaced-Hq27x-never-shown", "27 characters: letters, digits and punctuation"},
		{"a secret as a name is described", "apiVersion", secret, "37 characters: letters, digits and punctuation"},

		// Never quoted: secrets, tokens, headers, user info, stray arguments.
		{"the client secret", "clientSecret", "v2", "2 characters: letters and digits"},
		{"an access token", "accessToken", "abc", "3 characters: letters"},
		{"a refresh token", "refresh_token", "abc", "3 characters: letters"},
		{"a header value", "header", "Bearer abc", "10 characters: letters and spaces"},
		{"URL user info", "userinfo", "user:pw", "7 characters: letters and punctuation"},
		{"a positional argument where none is taken", "stray", "Orders", "6 characters: letters"},
		{"an option that says secret", "--client-secret", "abc", "3 characters: letters"},
		{"an option that says token", "--token-file", "a.json", "6 characters: letters and punctuation"},
		{"an option that says key", "--api-key", "abc", "3 characters: letters"},
		{"an option that says password", "--db-password", "abc", "3 characters: letters"},
		{"an option that says authorization", "authorization", "abc", "3 characters: letters"},
		{"a field the rule does not name", "clientId", "abc", "3 characters: letters"},

		// Arguments: quoted when they look like a name.
		{"a plain argument", "argument", "tables/Orders/records", `"tables/Orders/records"`},
		{"a number", "--limit", "0", `"0"`},
		{"a method", "request", "G ET", `"G ET"`},
		{"an argument of 64 characters", "argument", string(make64('a')), `"` + string(make64('a')) + `"`},
		{"an argument of 65 characters", "argument", string(make64('a')) + "a", "65 characters: letters"},
		{"an argument with an equals sign", "where", "Status=1", "8 characters: letters, digits and punctuation"},
		{"an argument with a colon (user info)", "argument", "https://u:p@h", "13 characters: letters and punctuation"},
		{"an empty argument", "argument", "", `""`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, caspio.ShowInput(tc.field, tc.value))
		})
	}
}

func make64(c byte) []byte {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return b
}

// TestShowUnknown: a name that is not valid is shown with the closest valid one, as the
// command line and the JS options show it; a value that may be a secret gets no suggestion.
func TestShowUnknown(t *testing.T) {
	options := []string{"--where", "--select", "--order-by", "--limit", "--all", "--format", "--api-version"}
	cases := []struct {
		name, field, typed string
		valid              []string
		want               string
	}{
		{"a typo in an option", "option", "--wher", options, `"--wher" (did you mean --where?)`},
		{"two letters swapped", "command", "recrods", []string{"token", "fetch", "records"}, `"recrods" (did you mean records?)`},
		{"nothing close", "command", "frobnicate", []string{"token", "fetch", "records"}, `"frobnicate"`},
		{"case, - and _ do not count", "option", "client_secret", []string{"clientId", "clientSecret"}, `"client_secret" (did you mean clientSecret?)`},
		{"a Go name for a JS option", "option", "IntegrationURL", []string{"account", "integrationUrl"}, `"IntegrationURL" (did you mean integrationUrl?)`},
		{"a stray argument gets no suggestion", "stray", "fetc", []string{"fetch"}, "(4 characters: letters)"},
		{"two edits in a short name are too far", "option", "tokenTTL", []string{"tokenUrl", "tokenTimeout"}, `"tokenTTL"`},
		{"a name longer than any gets none either", "command", "Zq8vKx1mN0pQZq8vKx1mN0pQZq8vKx1mN0pQ", []string{"token"}, "(36 characters: letters and digits)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, caspio.ShowUnknown(tc.field, tc.typed, tc.valid))
		})
	}
	assert.Equal(t, "", caspio.Closest("", options))
	assert.Equal(t, "--all", caspio.Closest("-all", options))
	assert.Equal(t, "", caspio.Closest("--x", options), "one letter is no basis for a guess")
}

// TestConfigErrorNamed: a runtime names Config's fields its own way in config errors.
func TestConfigErrorNamed(t *testing.T) {
	js := caspio.FieldNames{Account: "account", IntegrationURL: "integrationUrl", TokenURL: "tokenUrl", ResourceURL: "resourceUrl",
		APIVersion: "apiVersion", ClientID: "clientId", ClientSecret: "clientSecret", Credentials: "credentials", RefreshMargin: "refreshMargin"}
	secret := caspio.NewSecret("s")
	cases := []struct {
		name string
		cfg  caspio.Config
		want string
	}{
		{"no endpoint", caspio.Config{ClientID: "id", ClientSecret: secret},
			`caspio: config account: no endpoint is configured; set account (e.g. "c1abc123"), integrationUrl, or tokenUrl and resourceUrl`},
		{"two endpoints", caspio.Config{Account: "c1abc123", IntegrationURL: "https://c1abc123.caspio.com", ClientID: "id", ClientSecret: secret},
			"caspio: config account: more than one of account, integrationUrl and tokenUrl/resourceUrl is set; set exactly one of them"},
		{"a quoted value keeps its text", caspio.Config{Account: "c1abc123", APIVersion: "Account", ClientID: "id", ClientSecret: secret},
			`caspio: config apiVersion: is not a Caspio REST API version ("Account"); use "v2" or "v3"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := caspio.NewSettings(tc.cfg)
			ce, ok := err.(*caspio.ConfigError)
			if assert.True(t, ok, "%v", err) {
				assert.Equal(t, tc.want, ce.Named(js).Error())
				assert.Equal(t, ce.Error(), ce.Named(caspio.FieldNames{}).Error(), "empty names keep Config's")
			}
		})
	}
	t.Run("the secret", func(t *testing.T) {
		settings, err := caspio.NewSettings(caspio.Config{Account: "c1abc123", ClientID: "id"})
		require.NoError(t, err, "a Settings may go without a secret")
		_, err = caspio.NewMachine(settings, caspio.Options{})
		ce, ok := err.(*caspio.ConfigError)
		if assert.True(t, ok, "%v", err) {
			assert.Equal(t, `caspio: config clientSecret: is empty; copy the Client Secret from the account's Web services profile; a client may go without it only if it holds every token request (hold "all")`, ce.Named(js).Error())
		}
		_, err = caspio.NewMachine(settings, caspio.Options{Hold: caspio.HoldLogin})
		assert.Error(t, err, "a refresh needs the secret too")
		m, err := caspio.NewMachine(settings, caspio.Options{Hold: caspio.HoldAll})
		require.NoError(t, err, "a client that requests no token needs no secret")
		step := m.Token(1_700_000_000_000).Step()
		assert.Equal(t, caspio.StepRead, step.Kind, "it uses what is stored")
	})
}
