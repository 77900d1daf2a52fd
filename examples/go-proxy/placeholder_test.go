package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestPlaceholder: a variable that still holds a placeholder in angle brackets, as the JS
// proxy's wrangler.jsonc ships CASPIO_CLIENT_ID, is named as one, not described character
// by character.
func TestPlaceholder(t *testing.T) {
	cases := []struct {
		variable, value, want string
	}{
		{"CASPIO_CLIENT_ID", "<the Client ID of the Web services profile>",
			"CASPIO_CLIENT_ID still holds the placeholder of wrangler.jsonc (text in angle brackets); replace it with the Client ID of the account's Web services profile"},
		{"CASPIO_ACCOUNT", "<the account ID>",
			"CASPIO_ACCOUNT still holds the placeholder of wrangler.jsonc (text in angle brackets); replace it with the value it describes"},
		{"CASPIO_CLIENT_ID", "an id with spaces",
			"CASPIO_CLIENT_ID has a space at character 3 of 17; copy the Client ID again without surrounding white space"},
	}
	for _, tc := range cases {
		t.Run(tc.variable+" "+tc.value, func(t *testing.T) {
			env := baseEnv("http://127.0.0.1:9")
			if tc.variable == "CASPIO_ACCOUNT" {
				delete(env, "CASPIO_INTEGRATION_URL")
			}
			env[tc.variable] = tc.value
			cfg := loadConfig(getenv(env))
			assert.Equal(t, []string{tc.want}, cfg.problems)
		})
	}
}
