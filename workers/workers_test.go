package workers

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
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

func TestExpirationTTL(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000)
	at := func(d caspio.Millis) caspio.UnixMilli { return caspio.UnixMilli(now.UnixMilli()).Add(d) }
	encode := func(s caspio.State) []byte {
		s.ClientID, s.TokenURL = "id", "https://c1abc123.caspio.com/oauth/token"
		data, err := json.Marshal(s.Encode())
		require.NoError(t, err)
		return data
	}
	cases := []struct {
		name   string
		state  []byte
		want   int
		wantOK bool
	}{
		{
			name: "unused refresh token: 60 days from issue",
			state: encode(caspio.State{
				AccessToken: caspio.NewSecret("a"), ObtainedAt: at(0), ExpiresAt: at(caspio.Day),
				RefreshToken: caspio.NewSecret("r"), RefreshIssuedAt: at(0),
			}),
			want: 60 * 24 * 3600, wantOK: true,
		},
		{
			name: "used refresh token: a year from issue",
			state: encode(caspio.State{
				RefreshToken: caspio.NewSecret("r"), RefreshIssuedAt: at(-10 * caspio.Day), RefreshUsedAt: at(-caspio.Day),
			}),
			want: 355 * 24 * 3600, wantOK: true,
		},
		{
			name: "partial second rounds up",
			state: encode(caspio.State{
				RefreshToken: caspio.NewSecret("r"), RefreshIssuedAt: at(-caspio.RefreshTokenUnusedLifetime + 90*caspio.Second + 1),
			}),
			want: 91, wantOK: true,
		},
		{
			name: "refresh token about to expire: KV's minimum",
			state: encode(caspio.State{
				RefreshToken: caspio.NewSecret("r"), RefreshIssuedAt: at(-caspio.RefreshTokenUnusedLifetime + 10*caspio.Second),
			}),
			want: MinKVTTL, wantOK: true,
		},
		{
			name: "expired refresh token: KV's minimum",
			state: encode(caspio.State{
				RefreshToken: caspio.NewSecret("r"), RefreshIssuedAt: at(-400 * caspio.Day), RefreshUsedAt: at(-300 * caspio.Day),
			}),
			want: MinKVTTL, wantOK: true,
		},
		{
			name: "access token outliving the refresh token",
			state: encode(caspio.State{
				AccessToken: caspio.NewSecret("a"), ObtainedAt: at(-caspio.Hour), ExpiresAt: at(20 * caspio.Hour),
				RefreshToken: caspio.NewSecret("r"), RefreshIssuedAt: at(-caspio.RefreshTokenUnusedLifetime + caspio.Hour),
			}),
			want: 20 * 3600, wantOK: true,
		},
		{
			name:  "no refresh token: no expiry",
			state: encode(caspio.State{AccessToken: caspio.NewSecret("a"), ObtainedAt: at(0), ExpiresAt: at(caspio.Day)}),
		},
		{name: "counters only: no expiry", state: encode(caspio.State{Counters: caspio.Counters{ClientCredentialsRequests: 1}})},
		{name: "not JSON", state: []byte("{not json")},
		{name: "not a state", state: []byte(`{"version": 99}`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := expirationTTL(tc.state, now)
			assert.Equal(t, tc.wantOK, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}
