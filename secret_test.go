package caspio_test

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/caspio-auth/caspio"
)

// TestSecretFormatting pins what Secret's documentation says each fmt verb prints: the
// placeholder, its hex for %x and %X, an address for %d; never the text, raw or in hex.
func TestSecretFormatting(t *testing.T) {
	const text = "SECRET-token-value"
	s := caspio.NewSecret(text)
	holder := struct{ S caspio.Secret }{s}
	placeholderHex := hex.EncodeToString([]byte("[redacted]"))
	cases := []struct {
		verb string
		want string // what the output holds; "" for an address
	}{
		{"%v", "[redacted]"},
		{"%s", "[redacted]"},
		{"%+v", "[redacted]"},
		{"%#v", `caspio.Secret("[redacted]")`},
		{"%q", `"[redacted]"`},
		{"%x", placeholderHex},
		{"%X", strings.ToUpper(placeholderHex)},
		{"%d", ""},
	}
	for _, tc := range cases {
		for name, v := range map[string]any{"secret": s, "struct holding one": holder} {
			t.Run(tc.verb+" on a "+name, func(t *testing.T) {
				out := fmt.Sprintf(tc.verb, v)
				assert.NotContains(t, out, text)
				assert.NotContains(t, strings.ToLower(out), hex.EncodeToString([]byte(text)))
				if tc.want != "" {
					assert.Contains(t, out, tc.want)
				} else {
					assert.NotContains(t, out, "redacted")
				}
			})
		}
	}
}
