package client_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

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
			assert.Equal(t, caspio.Status{}, c.Status())
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
