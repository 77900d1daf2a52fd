package caspio_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
)

// TestZeroFlow: a Settings not made by NewSettings resolves nothing and drives no machine, with an
// error that says how to make one, instead of resolving against an empty REST base.
func TestZeroFlow(t *testing.T) {
	for name, settings := range map[string]*caspio.Settings{"zero": {}, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			for _, ref := range []string{"tables", "https://c1abc123.caspio.com/rest/v2/tables", "/rest/v2/tables"} {
				url, err := settings.ResolveURL(ref)
				assert.Empty(t, url)
				var ce *caspio.ConfigError
				require.ErrorAs(t, err, &ce, ref)
				assert.Equal(t, "Settings", ce.Field)
				assert.Contains(t, err.Error(), "NewSettings")
			}
			assert.NotPanics(t, func() { _ = settings.String() })
		})
	}
	m, err := caspio.NewMachine(&caspio.Settings{}, caspio.Options{})
	assert.Nil(t, m)
	var ce *caspio.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "Settings", ce.Field)
}

// TestResolveURLAllocations: the URL of a request built by a client (NewRequest's, a
// resolved URL) resolves to itself without allocating; a path costs the URL it builds.
func TestResolveURLAllocations(t *testing.T) {
	settings, err := caspio.NewSettings(caspio.Config{Account: "c1abc123", ClientID: "id", ClientSecret: caspio.NewSecret("SECRET")})
	require.NoError(t, err)
	cases := []struct {
		ref, want string
		allocs    float64
	}{
		{"https://c1abc123.caspio.com/rest/v2/tables/Orders/records?q.pageSize=100", "https://c1abc123.caspio.com/rest/v2/tables/Orders/records?q.pageSize=100", 0},
		{"https://c1abc123.caspio.com/rest/v2", "https://c1abc123.caspio.com/rest/v2", 0},
		{"tables/Orders/records?q.pageSize=100", "https://c1abc123.caspio.com/rest/v2/tables/Orders/records?q.pageSize=100", 1},
		{"https://c1abc123.caspio.com/rest/v2/tables?q.where=a b", "https://c1abc123.caspio.com/rest/v2/tables?q.where=a%20b", 1},
		{"https://C1ABC123.caspio.com:443/rest/v2/tables", "https://c1abc123.caspio.com/rest/v2/tables", 3},
	}
	for _, tc := range cases {
		got, err := settings.ResolveURL(tc.ref)
		require.NoError(t, err, tc.ref)
		assert.Equal(t, tc.want, got)
		allocs := testing.AllocsPerRun(100, func() { _, _ = settings.ResolveURL(tc.ref) })
		assert.LessOrEqual(t, allocs, tc.allocs, tc.ref)
	}
}

func BenchmarkResolveURL(b *testing.B) {
	settings, err := caspio.NewSettings(caspio.Config{Account: "c1abc123", ClientID: "id", ClientSecret: caspio.NewSecret("SECRET")})
	require.NoError(b, err)
	for name, ref := range map[string]string{
		"resolved URL": "https://c1abc123.caspio.com/rest/v2/tables/Orders/records?q.pageSize=100",
		"path":         "tables/Orders/records?q.pageSize=100",
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := settings.ResolveURL(ref); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
