package workers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
)

func TestCheckKV(t *testing.T) {
	cases := []struct {
		name, binding, key, wantErr string
	}{
		{name: "valid", binding: "CASPIO_TOKENS", key: "caspio-token:id"},
		{name: "no binding", binding: " ", key: "k", wantErr: "binding name is empty"},
		{name: "no key", binding: "B", key: "", wantErr: "key is empty"},
		{name: "dot key", binding: "B", key: ".", wantErr: "not allowed by Workers KV"},
		{name: "dot dot key", binding: "B", key: "..", wantErr: "not allowed by Workers KV"},
		{name: "key too long", binding: "B", key: strings.Repeat("k", 513), wantErr: "513 bytes long"},
		{name: "longest key", binding: "B", key: strings.Repeat("k", 512)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkKV(tc.binding, tc.key)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

// TestKVExpirationTTL: the store sets the TTL the client gives, which the core computes
// (caspio's storeExpiry, checked by the conversation vectors), in KV's whole seconds and
// never below KV's minimum.
func TestKVExpirationTTL(t *testing.T) {
	cases := []struct {
		name string
		ttl  time.Duration
		want int
	}{
		{"no expiry", 0, 0},
		{"negative: no expiry", -time.Second, 0},
		{"60 days", 60 * 24 * time.Hour, 60 * 24 * 3600},
		{"a minute", time.Minute, MinKVTTL},
		{"part of a second rounds up", 90*time.Second + time.Millisecond, 91},
		{"below KV's minimum", 10 * time.Second, MinKVTTL},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, kvExpirationTTL(tc.ttl))
		})
	}
}

// TestKVTTLFromTheWriteStep: the TTL a client hands an ExpiringStore is the write step's,
// for a state with a refresh token and for one without.
func TestKVTTLFromTheWriteStep(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000)
	var ttls []time.Duration
	var untils []time.Time
	store := &recordingStore{save: func(until time.Time, ttl time.Duration) {
		untils, ttls = append(untils, until), append(ttls, ttl)
	}}
	tokens := []string{
		`{"access_token":"SECRET-a","token_type":"bearer","expires_in":86399,"refresh_token":"SECRET-r"}`,
		`{"access_token":"SECRET-b","token_type":"bearer","expires_in":3600}`,
	}
	for i, body := range tokens {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		}))
		c, err := client.New(caspio.Config{IntegrationURL: srv.URL, ClientID: "id", ClientSecret: caspio.NewSecret("SECRET")},
			client.Options{Store: store, Now: func() time.Time { return now }})
		require.NoError(t, err)
		_, err = c.Authenticate(context.Background())
		srv.Close()
		require.NoError(t, err, "token %d", i)
	}
	require.Len(t, ttls, 2)
	// An unused refresh token lives 60 days; without one, the access token's hour.
	assert.Equal(t, 60*24*time.Hour, ttls[0])
	assert.Equal(t, now.Add(60*24*time.Hour), untils[0])
	assert.Equal(t, time.Hour, ttls[1])
	assert.Equal(t, 60*24*3600, kvExpirationTTL(ttls[0]))
	assert.Equal(t, 3600, kvExpirationTTL(ttls[1]))
}

// recordingStore is a client.ExpiringStore in memory that records the expiry of each write.
type recordingStore struct {
	client.MemoryStore
	save func(until time.Time, ttl time.Duration)
}

func (s *recordingStore) SaveUntil(ctx context.Context, state []byte, until time.Time, ttl time.Duration) error {
	s.save(until, ttl)
	return s.Save(ctx, state)
}
