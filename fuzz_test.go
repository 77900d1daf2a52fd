package caspio_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/caspio-auth/caspio"
)

// The fuzz targets are seeded from the shared vectors. `go test` runs the seeds; explore
// further with e.g. `go test -fuzz FuzzHandleTokenResponse -fuzztime 30s .`, or run every
// target for a while with `./build.sh fuzz` (RELIABILITY.md records its figures).
//
// Their checks follow errors.go: no message shows a value that may be a credential. The
// vectors mark such values with "SECRET" or "Zq8v", which no message template contains, so
// that either in a message means a value was shown.

// canary reports whether text holds one of the vectors' markers of a value never to show.
func canary(text string) bool {
	return strings.Contains(text, "SECRET") || strings.Contains(strings.ToLower(text), "zq8v")
}

// FuzzHandleTokenResponse: whatever the token endpoint answers, a success gives a token that
// the next decision leases, retries stay within their bounds, the state stores and reads
// back, and no error shows the client's credentials or a value of the response other than
// text a server writes for people.
func FuzzHandleTokenResponse(f *testing.F) {
	type vector struct {
		Response vectorResponse
		Attempt  int
	}
	for _, c := range loadVectors[vector](&testing.T{}, "token_responses.json") {
		if c.Response.BodyText != nil {
			f.Add(c.Response.Status, c.Response.ContentType, *c.Response.BodyText, c.Response.RetryAfter, c.Attempt, true)
		}
	}
	// Found by this target: a short token_type was quoted.
	f.Add(200, "application/json", `{"access_token":"a","token_type":"SECRET","expires_in":60}`, "", 0, false)
	settings, err := caspio.NewSettings(caspio.Config{Account: "c1abc123", ClientID: "id-1", ClientSecret: caspio.NewSecret("SECRET-1")})
	if err != nil {
		f.Fatal(err)
	}
	prev := caspio.State{ClientID: "id-1", TokenURL: settings.TokenURL(), RefreshToken: caspio.NewSecret("SECRET-rt0"), RefreshIssuedAt: 1}
	credentials := []string{"SECRET-1", "SECRET-rt0", base64.StdEncoding.EncodeToString([]byte("id-1:SECRET-1"))}
	const now = 1_700_000_000_000
	f.Fuzz(func(t *testing.T, status int, contentType, bodyText, retryAfter string, attempt int, refresh bool) {
		action := caspio.Authenticate
		if refresh {
			action = caspio.Refresh
		}
		body, ok := decodeJSON(bodyText)
		res := settings.HandleTokenResponse(action, prev, caspio.Response{Status: status, ContentType: contentType, Body: body, NotJSON: !ok, RetryAfter: retryAfter}, now, attempt, 0.5)
		if res.Err == nil {
			if res.Retry || !res.State.HasAccessToken() || res.State.ExpiresAt <= now {
				t.Fatalf("success without a usable token: %+v", res)
			}
			if d := settings.Decide(res.State, now); d.Action != caspio.UseLease && res.State.ExpiresAt.Sub(now) > 2*caspio.Second {
				t.Fatalf("a fresh token gives no lease: %v", d.Action)
			}
		} else {
			msg := res.Err.Error()
			// The client's own credentials never show, even when the server echoes them.
			for _, secret := range credentials {
				if strings.Contains(msg, secret) {
					t.Fatalf("a credential in the error: %v", res.Err)
				}
			}
			// Nor does any value of the response, but for the text a server writes for
			// people to read.
			if canary(msg) && !canary(shownByDesign(body, contentType)) {
				t.Fatalf("a value of the response in the error: %v", res.Err)
			}
		}
		if res.Retry && (res.Wait < 0 || res.Wait > caspio.MaxRetryAfter) {
			t.Fatalf("wait out of bounds: %d", res.Wait)
		}
		// Past the bound, the only retry is the fall-back from a refused refresh to a login.
		if attempt >= caspio.MaxTokenRetries && res.Retry && (!refresh || !res.State.RefreshToken.IsZero()) {
			t.Fatalf("retried past the bound: attempt %d, status %d", attempt, status)
		}
		// Whatever happened, the state must store and read back.
		data, err := json.Marshal(res.State.Encode())
		if err != nil {
			t.Fatal(err)
		}
		v, _ := decodeJSON(string(data))
		if _, err := caspio.ParseState(v); err != nil {
			t.Fatalf("state does not read back: %v", err)
		}
	})
}

// shownByDesign is the text of a token response that an error may show: what a server
// writes for people to read, and the Content-Type (see errors.go).
func shownByDesign(body any, contentType string) string {
	shown := contentType
	if m, ok := body.(map[string]any); ok {
		for _, key := range []string{"error", "error_description", "error_uri", "Code", "Message", "Resource", "RequestId"} {
			if s, ok := m[key].(string); ok {
				shown += " " + s
			}
		}
	}
	return shown
}

// FuzzNewSettings: whatever the Config, its endpoints are http(s) URLs without user info, "@",
// query or fragment, Settings.String shows no secret, and no config error shows a value.
func FuzzNewSettings(f *testing.F) {
	for _, c := range loadVectors[struct{ Config vectorConfig }](&testing.T{}, "config.json") {
		v := c.Config
		f.Add(v.Account, v.IntegrationURL, v.TokenURL, v.ResourceURL, v.APIVersion, v.ClientID, v.ClientSecret, v.Credentials, v.RefreshMarginMS)
	}
	// Found by this target: an "@" in an endpoint's path was accepted.
	f.Add("", "", "https://0/@", "https://0/rest/v2", "", "id-1", "SECRET-1", "", int64(0))
	f.Fuzz(func(t *testing.T, account, integrationURL, tokenURL, resourceURL, version, clientID, secret, credentials string, margin int64) {
		settings, err := caspio.NewSettings(caspio.Config{
			Account: account, IntegrationURL: integrationURL, TokenURL: tokenURL, ResourceURL: resourceURL,
			APIVersion: version, ClientID: clientID, ClientSecret: caspio.NewSecret(secret),
			Credentials: credentials, RefreshMargin: caspio.Millis(margin),
		})
		if err != nil {
			// A message describes the value at fault and quotes none, whichever field it is.
			if canary(err.Error()) {
				t.Fatalf("a value in the error: %v", err)
			}
			return
		}
		for _, u := range []string{settings.TokenURL(), settings.ResourceBase()} {
			if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
				t.Fatalf("endpoint %q is not http(s)", u)
			}
			if strings.ContainsAny(u, " \r\n\\@?#") {
				t.Fatalf("endpoint %q has a character it must not", u)
			}
		}
		if !strings.HasPrefix(settings.ResourceBase(), settings.ResourceOrigin()) {
			t.Fatalf("base %q is not on origin %q", settings.ResourceBase(), settings.ResourceOrigin())
		}
		// Settings.String shows what the getters show, and the secret as [redacted] only.
		want := "caspio.Settings{TokenURL: " + settings.TokenURL() + ", ResourceBase: " + settings.ResourceBase() + ", ClientID: " + settings.ClientID() + ", ClientSecret: [redacted]}"
		if got := settings.String(); got != want {
			t.Fatalf("Settings.String is %q, want %q", got, want)
		}
	})
}

// FuzzParseState: a stored state that reads encodes and reads back the same.
func FuzzParseState(f *testing.F) {
	for _, c := range loadVectors[struct{ Text string }](&testing.T{}, "states.json") {
		f.Add(c.Text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		v, ok := decodeJSON(text)
		if !ok {
			return
		}
		s, err := caspio.ParseState(v)
		if err != nil {
			return
		}
		again, err := caspio.ParseState(roundTrip(t, s.Encode()))
		if err != nil {
			t.Fatalf("a state that read does not read back: %v", err)
		}
		a, _ := json.Marshal(s.Encode())
		b, _ := json.Marshal(again.Encode())
		if string(a) != string(b) {
			t.Fatalf("round trip changed the state:\n%s\n%s", a, b)
		}
	})
}

// FuzzResolveURL: whatever the reference, the URL it resolves to stays on the REST base, can
// be sent as it is and has no dot segment; a reference with a scheme but no "//" is refused;
// an error shows no query, fragment or user info.
func FuzzResolveURL(f *testing.F) {
	for _, c := range loadVectors[struct{ Ref string }](&testing.T{}, "resolve.json") {
		f.Add(c.Ref)
	}
	settings, err := caspio.NewSettings(caspio.Config{Account: "c1abc123", ClientID: "id-1", ClientSecret: caspio.NewSecret("SECRET-1")})
	if err != nil {
		f.Fatal(err)
	}
	base := settings.ResourceBase()
	f.Fuzz(func(t *testing.T, ref string) {
		got, err := settings.ResolveURL(ref)
		if err != nil {
			// A URL error shows the reference but for its query, fragment and user info.
			if canary(err.Error()) && !canary(mayShow(ref)) {
				t.Fatalf("%q: a hidden part in the error: %v", ref, err)
			}
			return
		}
		if schemeWithoutSlashes.MatchString(ref) {
			t.Fatalf("%q is not a path, yet resolved to %q", ref, got)
		}
		// The bearer token stays on the resource base, and the URL is one a client can send.
		if got != base && !strings.HasPrefix(got, base+"/") && !strings.HasPrefix(got, base+"?") {
			t.Fatalf("%q resolved off the base: %q", ref, got)
		}
		for i := 0; i < len(got); i++ {
			if c := got[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '#' {
				t.Fatalf("%q resolved to %q with byte %q", ref, got, c)
			}
		}
		for _, seg := range strings.Split(strings.SplitN(got[len(base):], "?", 2)[0], "/") {
			if s := strings.ToLower(seg); s == "." || s == ".." || s == "%2e%2e" || s == "%2e" {
				t.Fatalf("%q resolved with a dot segment: %q", ref, got)
			}
		}
	})
}

// schemeWithoutSlashes matches a reference with a scheme and no "//" after it: not a path,
// nor an http(s) URL (data:..., http:host).
var schemeWithoutSlashes = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:($|[^/]|/$|/[^/])`)

// authority matches the start of a reference with an authority, up to where it begins.
var authority = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*:)?[/\\]{2}`)

// mayShow is what an error may show of a reference: not its query or fragment, nor what
// stands between the start of its authority and its last "@" (user info).
func mayShow(ref string) string {
	if i := strings.IndexAny(ref, "?#"); i >= 0 {
		ref = ref[:i]
	}
	if m := authority.FindStringIndex(ref); m != nil {
		if at := strings.LastIndexByte(ref, '@'); at >= m[1] {
			ref = ref[:m[1]] + ref[at:]
		}
	}
	return ref
}

// FuzzCheckLocation: a redirect's Location that CheckLocation lets a client follow leads, where
// net/url parses it, to an http(s) URL without user info; an error shows no query, fragment
// or user info.
func FuzzCheckLocation(f *testing.F) {
	for _, location := range []string{
		"/rest/v2/tables", "tables/Orders", "https://c1abc123.caspio.com/rest/v2/tables?q.limit=1",
		"//elsewhere.example/x", "https://id:SECRET@elsewhere.example/", "https://id:pa/SECRET@elsewhere.example/",
		"http:id:SECRET@elsewhere.example", "data:text/plain,SECRET", "mailto:SECRET@example.com",
		"https:/rest/v2", "HTTPS://elsewhere.example/a@b?c@d", "/files/a@b", "ht\ttps://id:SECRET@x/",
	} {
		f.Add(location)
	}
	from, err := url.Parse("https://c1abc123.caspio.com/rest/v2/tables")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, location string) {
		err := caspio.CheckLocation(location)
		if err != nil {
			if canary(err.Error()) && !canary(mayShow(location)) {
				t.Fatalf("%q: a hidden part in the error: %v", location, err)
			}
			return
		}
		// What it lets a client follow is an http(s) URL without user info, where it parses.
		u, perr := from.Parse(location)
		if perr != nil {
			return
		}
		if u.User != nil || u.Opaque != "" || (u.Scheme != "http" && u.Scheme != "https") {
			t.Fatalf("%q was let through, and leads to %s", location, u.Redacted())
		}
	})
}
