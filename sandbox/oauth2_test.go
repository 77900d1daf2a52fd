package sandbox_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/caspio-auth/caspio/sandbox"
)

// An independent OAuth client (golang.org/x/oauth2) must get along with the sandbox in
// both ways of sending credentials: a check that the sandbox speaks standard OAuth, not
// just whatever our own client sends.
func TestThirdPartyOAuthClient(t *testing.T) {
	cases := []struct {
		name  string
		style oauth2.AuthStyle
	}{
		{"credentials in params", oauth2.AuthStyleInParams},
		{"credentials in header", oauth2.AuthStyleInHeader},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sb, base := start(t, sandbox.Options{})
			cfg := clientcredentials.Config{
				ClientID:     clientID,
				ClientSecret: clientSecret,
				TokenURL:     base + "/oauth/token",
				AuthStyle:    tc.style,
			}
			tok, err := cfg.Token(context.Background())
			require.NoError(t, err)
			assert.Equal(t, "bearer", tok.TokenType)
			assert.NotEmpty(t, tok.RefreshToken)
			assert.WithinDuration(t, sb.Now().Add(86399e9), tok.Expiry, 5e9)

			resp, err := cfg.Client(context.Background()).Get(base + "/rest/v2/tables")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, 0, sb.Stats().Unauthorized)

			cfg.ClientSecret = "wrong"
			_, err = cfg.Token(context.Background())
			var re *oauth2.RetrieveError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, "invalid_client", re.ErrorCode)
		})
	}
}
