package client_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/sandbox"
)

// closeRecorder is a request body that says whether it was closed.
type closeRecorder struct {
	*strings.Reader
	closed bool
}

func (b *closeRecorder) Close() error { b.closed = true; return nil }

// TestZeroClient: a Client not made by New fails every call with ErrZeroClient, sends
// nothing, closes the bodies it is given, and prints without a panic.
func TestZeroClient(t *testing.T) {
	t.Parallel()
	var zero client.Client
	for name, c := range map[string]*client.Client{"zero": &zero, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for call, get := range map[string]func(context.Context) (*client.Token, error){
				"Token": c.Token, "Authenticate": c.Authenticate, "Refresh": c.Refresh,
			} {
				tok, err := get(ctx)
				assert.Nil(t, tok, call)
				assert.ErrorIs(t, err, client.ErrZeroClient, call)
			}
			_, err := c.NewRequest(ctx, "GET", "tables", nil)
			assert.ErrorIs(t, err, client.ErrZeroClient)

			senders := map[string]func(*http.Request) (*http.Response, error){
				"Do": c.Do, "HTTPClient": c.HTTPClient().Do, "Transport": c.Transport(nil).RoundTrip,
			}
			for via, send := range senders {
				body := &closeRecorder{Reader: strings.NewReader("{}")}
				req, err := http.NewRequest("POST", "https://c1abc123.caspio.com/rest/v2/tables", body)
				require.NoError(t, err)
				resp, err := send(req)
				assert.Nil(t, resp, via)
				assert.ErrorIs(t, err, client.ErrZeroClient, via)
				assert.True(t, body.closed, "%s closes the request body", via)
			}
			assert.Equal(t, client.Stats{}, c.Stats())
			assert.Equal(t, client.Status{}, c.Status())
			assert.Equal(t, "caspio client{zero}", fmt.Sprint(c))
		})
	}
}

// TestHold: a client told not to log in refuses to, with a typed error, and still uses
// what it holds.
func TestHold(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{})
	store := client.NewMemoryStore()
	_, err := e.client(t, client.Options{Store: store}).Token(context.Background())
	require.NoError(t, err)

	held := e.client(t, client.Options{Hold: caspio.HoldLogin, Store: store})
	_, err = held.Token(context.Background())
	require.NoError(t, err, "the stored token serves")
	_, err = held.Authenticate(context.Background())
	var te *caspio.TokenError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, caspio.KindHeld, te.Kind())
	assert.Equal(t, caspio.HoldLogin, held.Status().Hold)
	cc, _ := e.grants()
	assert.Equal(t, 1, cc)

	_, err = client.New(e.config(), client.Options{Hold: "sometimes"})
	var ce *caspio.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "Hold", ce.Field)
}

// TestStatusTimes: Status gives its instants and margin as time values, the same instants
// that Token gives, and zero times before there is a token.
func TestStatusTimes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{})
	c := e.client(t, client.Options{})
	before := c.Status()
	assert.True(t, before.AccessTokenExpiresAt.IsZero() && before.LeaseValidUntil.IsZero() && before.RefreshTokenExpiresAt.IsZero(), "%+v", before)
	assert.Equal(t, caspio.Authenticate, before.Next)
	assert.Equal(t, 5*time.Minute, before.RefreshMargin)

	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	st := c.Status()
	assert.True(t, tok.ExpiresAt.Equal(st.AccessTokenExpiresAt), "%v, %v", tok.ExpiresAt, st.AccessTokenExpiresAt)
	assert.True(t, tok.ValidUntil.Equal(st.LeaseValidUntil), "%v, %v", tok.ValidUntil, st.LeaseValidUntil)
	assert.True(t, tok.RefreshTokenExpiresAt.Equal(st.RefreshTokenExpiresAt))
	assert.Equal(t, 5*time.Minute, st.AccessTokenExpiresAt.Sub(st.LeaseValidUntil))
	assert.Equal(t, caspio.UseLease, st.Next)
	assert.Equal(t, 1, st.Counters.Logins)
}

// TestErrorsHaveOnePrefix: an error passed up through the client's layers reads with one
// prefix, and errors.As still reaches the core's error.
func TestErrorsHaveOnePrefix(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{})
	cfg := e.config()
	cfg.ClientSecret = caspio.NewSecret("not-the-secret")
	c := e.clientWith(t, cfg, client.Options{})
	req, err := c.NewRequest(context.Background(), "GET", "tables", nil)
	require.NoError(t, err)
	_, err = c.Do(req)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "caspio client: do: token endpoint refused the client_credentials grant: 401 invalid_client"), err.Error())
	assert.Equal(t, 1, strings.Count(err.Error(), "caspio client:")+strings.Count(err.Error(), "caspio:"), err.Error())
	var oe *caspio.OAuthError
	assert.ErrorAs(t, err, &oe)

	_, err = client.New(caspio.Config{ClientID: "id", ClientSecret: caspio.NewSecret("s")}, client.Options{})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "caspio client: config Account: no endpoint is configured"), err.Error())
	var ce *caspio.ConfigError
	assert.ErrorAs(t, err, &ce)
}
