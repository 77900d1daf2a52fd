package client

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/caspio-auth/caspio"
)

// Token is an access token and what the client knows about it. The access token is a
// caspio.Secret, and String, GoString and Format print none of it, so a Token can be
// logged.
type Token struct {
	// AccessToken is the bearer token; Authorization gives the header value.
	AccessToken caspio.Secret
	// ExpiresAt is when the access token itself expires.
	ExpiresAt time.Time
	// ValidUntil is when the client stops using it: the refresh margin before ExpiresAt.
	ValidUntil time.Time
	// RefreshTokenExpiresAt is when the refresh token expires on Caspio's side, as far as
	// the client can tell; zero when there is no refresh token.
	RefreshTokenExpiresAt time.Time
	// Logins and Refreshes count the successful grants of the stored state, across restarts
	// as far as the Store keeps it.
	Logins, Refreshes int
}

// Authorization returns the Authorization header value, "Bearer <access token>", for callers
// that set headers themselves. Send it to the resource endpoint only.
func (t *Token) Authorization() string { return "Bearer " + t.AccessToken.Reveal() }

// String describes the token without its text.
func (t Token) String() string {
	b := make([]byte, 0, 160)
	b = append(b, "caspio token{access token "...)
	if t.AccessToken.IsZero() {
		b = append(b, "none"...)
	} else {
		b = append(b, "[redacted]"...)
	}
	b = append(b, ", expires "...)
	b = appendTime(b, t.ExpiresAt)
	b = append(b, ", valid until "...)
	b = appendTime(b, t.ValidUntil)
	if !t.RefreshTokenExpiresAt.IsZero() {
		b = append(b, ", refresh token [redacted] expires "...)
		b = appendTime(b, t.RefreshTokenExpiresAt)
	}
	b = append(b, ", logins "...)
	b = strconv.AppendInt(b, int64(t.Logins), 10)
	b = append(b, ", refreshes "...)
	b = strconv.AppendInt(b, int64(t.Refreshes), 10)
	b = append(b, '}')
	return string(b)
}

// GoString is String, for %#v.
func (t Token) GoString() string { return t.String() }

// Format prints String for every verb (%q quotes it), so that no verb reaches the fields.
func (t Token) Format(f fmt.State, verb rune) { formatRedacted(f, verb, t.String()) }

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "never"...)
	}
	return t.UTC().AppendFormat(b, time.RFC3339)
}

// formatRedacted writes s, the redacted description of a value, for any fmt verb.
func formatRedacted(f fmt.State, verb rune, s string) {
	if verb == 'q' {
		s = strconv.Quote(s)
	}
	_, _ = f.Write([]byte(s))
}

// lease is what the client may send without asking the machine: the Authorization value,
// until validUntil, and the Token that describes it.
type lease struct {
	authorization string
	validUntil    caspio.UnixMilli
	token         Token
}

// newLease makes the lease of a done or fail step: its caspio.Lease, described with the
// step's status.
func newLease(l caspio.Lease, st caspio.Status) *lease {
	authorization := l.Authorization.Reveal()
	access, _ := strings.CutPrefix(authorization, "Bearer ")
	return &lease{
		authorization: authorization,
		validUntil:    l.ValidUntil,
		token: Token{
			AccessToken:           caspio.NewSecret(access),
			ExpiresAt:             instant(st.AccessTokenExpiresAt),
			ValidUntil:            instant(l.ValidUntil),
			RefreshTokenExpiresAt: instant(st.RefreshTokenExpiresAt),
			Logins:                st.Counters.Logins,
			Refreshes:             st.Counters.Refreshes,
		},
	}
}

// instant is an instant of the core as a time.Time; zero stays zero.
func instant(t caspio.UnixMilli) time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(t))
}
