//go:build !(js && wasm)

package workers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/workers"
)

// Outside a Worker the API exists and fails with ErrNotInWorker, never with a panic.
func TestOutsideAWorker(t *testing.T) {
	store, err := workers.NewKVStore("CASPIO_TOKENS", "caspio-token:id")
	assert.Nil(t, store)
	require.ErrorIs(t, err, workers.ErrNotInWorker)
	assert.Contains(t, err.Error(), "GOOS=js GOARCH=wasm")

	_, err = workers.NewKVStore("", "k")
	require.Error(t, err)
	assert.NotErrorIs(t, err, workers.ErrNotInWorker, "argument errors come first, on every platform")

	broker, err := workers.NewBrokerStore("CASPIO_BROKER", "caspio-token:id")
	assert.Nil(t, broker)
	require.ErrorIs(t, err, workers.ErrNotInWorker)
	for _, args := range [][2]string{{"", "n"}, {" ", "n"}, {"CASPIO_BROKER", ""}, {"CASPIO_BROKER", strings.Repeat("n", 513)}} {
		_, err = workers.NewBrokerStore(args[0], args[1])
		require.Error(t, err, args)
		assert.NotErrorIs(t, err, workers.ErrNotInWorker, "argument errors come first, on every platform")
	}

	req, err := http.NewRequest("POST", "http://127.0.0.1:9/", strings.NewReader("body"))
	require.NoError(t, err)
	_, err = workers.Transport().RoundTrip(req)
	require.ErrorIs(t, err, workers.ErrNotInWorker)

	// The native driver takes the transport unchanged, and its errors wrap ErrNotInWorker.
	c, err := client.New(caspio.Config{
		IntegrationURL: "http://127.0.0.1:9",
		ClientID:       "id",
		ClientSecret:   caspio.NewSecret("secret-never-printed"),
	}, client.Options{HTTPClient: workers.HTTPClient()})
	require.NoError(t, err)
	_, err = c.Token(context.Background())
	require.ErrorIs(t, err, workers.ErrNotInWorker)
	assert.NotContains(t, err.Error(), "secret-never-printed")
}
