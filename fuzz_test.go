package caspio_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caspio-auth/caspio"
)

// The fuzz targets are seeded from the shared vectors. `go test` runs the seeds; explore
// further with e.g. `go test -fuzz FuzzHandleTokenResponse -fuzztime 30s .`.

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
	flow, err := caspio.NewFlow(caspio.Config{Account: "c1abc123", ClientID: "id-1", ClientSecret: caspio.NewSecret("SECRET-1")})
	if err != nil {
		f.Fatal(err)
	}
	prev := caspio.State{ClientID: "id-1", TokenURL: flow.TokenURL(), RefreshToken: caspio.NewSecret("SECRET-rt0"), RefreshIssuedAt: 1}
	const now = 1_700_000_000_000
	f.Fuzz(func(t *testing.T, status int, contentType, bodyText, retryAfter string, attempt int, refresh bool) {
		action := caspio.Authenticate
		if refresh {
			action = caspio.Refresh
		}
		body, ok := decodeJSON(bodyText)
		res := flow.HandleTokenResponse(action, prev, caspio.Response{Status: status, ContentType: contentType, Body: body, NotJSON: !ok, RetryAfter: retryAfter}, now, attempt, 0.5)
		if res.Err == nil {
			if res.Retry || !res.State.HasAccessToken() || res.State.ExpiresAt <= now {
				t.Fatalf("success without a usable token: %+v", res)
			}
			if d := flow.Decide(res.State, now); d.Action != caspio.UseLease && res.State.ExpiresAt.Sub(now) > 2*caspio.Second {
				t.Fatalf("a fresh token gives no lease: %v", d.Action)
			}
		} else if strings.Contains(res.Err.Error(), "SECRET") {
			t.Fatalf("secret in error: %v", res.Err)
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

func FuzzNewFlow(f *testing.F) {
	for _, c := range loadVectors[struct{ Config vectorConfig }](&testing.T{}, "config.json") {
		v := c.Config
		f.Add(v.Account, v.IntegrationURL, v.TokenURL, v.ResourceURL, v.APIVersion, v.ClientID, v.Credentials, v.RefreshMarginMS)
	}
	f.Fuzz(func(t *testing.T, account, integrationURL, tokenURL, resourceURL, version, clientID, credentials string, margin int64) {
		flow, err := caspio.NewFlow(caspio.Config{
			Account: account, IntegrationURL: integrationURL, TokenURL: tokenURL, ResourceURL: resourceURL,
			APIVersion: version, ClientID: clientID, ClientSecret: caspio.NewSecret("SECRET-fuzz"),
			Credentials: credentials, RefreshMargin: caspio.Millis(margin),
		})
		if err != nil {
			// Messages quote the fields at fault, but never the secret.
			given := strings.Join([]string{account, integrationURL, tokenURL, resourceURL, version, clientID, credentials}, " ")
			if strings.Contains(err.Error(), "SECRET-fuzz") && !strings.Contains(given, "SECRET-fuzz") {
				t.Fatalf("secret in error: %v", err)
			}
			return
		}
		for _, u := range []string{flow.TokenURL(), flow.ResourceBase()} {
			if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
				t.Fatalf("endpoint %q is not http(s)", u)
			}
			if strings.ContainsAny(u, " \r\n\\@?#") {
				t.Fatalf("endpoint %q has a character it must not", u)
			}
		}
		if !strings.HasPrefix(flow.ResourceBase(), flow.ResourceOrigin()) {
			t.Fatalf("base %q is not on origin %q", flow.ResourceBase(), flow.ResourceOrigin())
		}
		if strings.Contains(flow.String(), "SECRET") {
			t.Fatal("secret in Flow.String")
		}
	})
}

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

func FuzzResolveURL(f *testing.F) {
	for _, c := range loadVectors[struct{ Ref string }](&testing.T{}, "resolve.json") {
		f.Add(c.Ref)
	}
	flow, err := caspio.NewFlow(caspio.Config{Account: "c1abc123", ClientID: "id-1", ClientSecret: caspio.NewSecret("SECRET-1")})
	if err != nil {
		f.Fatal(err)
	}
	base := flow.ResourceBase()
	f.Fuzz(func(t *testing.T, ref string) {
		got, err := flow.ResolveURL(ref)
		if err != nil {
			return
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
