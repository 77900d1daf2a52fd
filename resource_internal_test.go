package caspio

import "testing"

func TestResolveReference(t *testing.T) {
	const base = "https://c1abc123.caspio.com/rest/v2/tables/Orders/records?q.pageSize=10"
	for _, c := range []struct {
		name, ref, want string
	}{
		{"absolute", "https://files.example.com/export?id=7#top", "https://files.example.com/export?id=7"},
		{"absolute, scheme in capitals, no path", "HTTPS://files.example.com", "https://files.example.com/"},
		{"scheme-relative", "//files.example.com/a/b", "https://files.example.com/a/b"},
		{"absolute path", "/rest/v2/tables", "https://c1abc123.caspio.com/rest/v2/tables"},
		{"relative path", "fields", "https://c1abc123.caspio.com/rest/v2/tables/Orders/fields"},
		{"relative with dot segments", "../../views/./x", "https://c1abc123.caspio.com/rest/v2/views/x"},
		{"dot segments past the root", "/../../a", "https://c1abc123.caspio.com/a"},
		{"encoded dot segments", "/rest/v2/%2E%2e/x/%2e", "https://c1abc123.caspio.com/rest/x/"},
		{"a trailing dot-dot keeps the slash", "a/..", "https://c1abc123.caspio.com/rest/v2/tables/Orders/"},
		{"query only", "?q.pageNumber=2", "https://c1abc123.caspio.com/rest/v2/tables/Orders/records?q.pageNumber=2"},
		{"empty query", "?", "https://c1abc123.caspio.com/rest/v2/tables/Orders/records?"},
		{"fragment only keeps the query", "#x", base},
		{"tabs and line breaks dropped, spaces trimmed", " /rest/v2/\ttab\n", "https://c1abc123.caspio.com/rest/v2/tab"},
		{"a space escaped", "/rest/v2/a b?q.where=x y", "https://c1abc123.caspio.com/rest/v2/a%20b?q.where=x%20y"},
		{"IPv6 and a port", "http://[::1]:8080/x", "http://[::1]:8080/x"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := resolveReference(base, c.ref)
			if !ok || got != c.want {
				t.Errorf("resolveReference(%q) = %q, %v; want %q", c.ref, got, ok, c.want)
			}
		})
	}
	for _, ref := range []string{"https:///path", "https:files.example.com", `\\evil.example\x`, "//", "https://ex ample.com/", "https://bücher.example/"} {
		if got, ok := resolveReference(base, ref); ok {
			t.Errorf("resolveReference(%q) = %q; want it refused", ref, got)
		}
	}
}

func TestStoreExpiry(t *testing.T) {
	const now = UnixMilli(1_700_000_000_000)
	for _, c := range []struct {
		name    string
		s       State
		wantAt  UnixMilli
		wantTTL Millis
	}{
		{"no token: kept", State{Counters: Counters{Logins: 3}}, 0, 0},
		{"an unused refresh token: 60 days after minting",
			State{AccessToken: NewSecret("a"), ExpiresAt: now.Add(Day), RefreshToken: NewSecret("r"), RefreshIssuedAt: now},
			now.Add(60 * Day), 60 * Day},
		{"a used refresh token: a year after minting",
			State{RefreshToken: NewSecret("r"), RefreshIssuedAt: now.Add(-Day), RefreshUsedAt: now},
			now.Add(364 * Day), 364 * Day},
		{"an access token that outlives the refresh token",
			State{AccessToken: NewSecret("a"), ExpiresAt: now.Add(2 * Day), RefreshToken: NewSecret("r"), RefreshIssuedAt: now.Add(-59 * Day)},
			now.Add(2 * Day), 2 * Day},
		{"an access token only, in part seconds: rounded up",
			State{AccessToken: NewSecret("a"), ExpiresAt: now.Add(90*Second + 1)}, now.Add(90*Second + 1), 91 * Second},
		{"an expired state: a minute", State{AccessToken: NewSecret("a"), ExpiresAt: now.Add(-Hour)}, now.Add(-Hour), Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			at, ttl := storeExpiry(c.s, now)
			if at != c.wantAt || ttl != c.wantTTL {
				t.Errorf("storeExpiry = %d, %d; want %d, %d", at, ttl, c.wantAt, c.wantTTL)
			}
		})
	}
}

// Final is the hot path's test in every driver: what it hands back at once, the machine
// would hand back too; what it does not, the machine acts on.
func TestFinal(t *testing.T) {
	for status, want := range map[int]bool{
		0: false, 200: true, 201: true, 204: true, 300: true, 301: false, 302: false, 303: false,
		304: true, 307: false, 308: false, 400: true, 401: false, 403: true, 404: true,
		429: false, 500: false, 501: false, 503: false, 599: false, 999: false,
	} {
		if got := Final(status); got != want {
			t.Errorf("Final(%d) = %v, want %v", status, got, want)
		}
	}
}
