package caspio

import (
	"math"
)

// State is what a client knows about its tokens: the access token and its expiry, the
// refresh token and its age, and counters. A host keeps it, passes it to the Settings's methods
// and persists it with Encode, so that a restarted client reuses its tokens instead of
// logging in again: every login mints a refresh token, and a Caspio account keeps at most
// 1,000 of them.
//
// The zero State has no tokens.
type State struct {
	// ClientID and TokenURL say whose tokens these are, so that a host never adopts state
	// stored for another client (see Settings.Owns).
	ClientID string
	TokenURL string

	AccessToken Secret
	ObtainedAt  UnixMilli // when AccessToken was obtained
	ExpiresAt   UnixMilli // when AccessToken expires; zero when there is none

	RefreshToken    Secret
	RefreshIssuedAt UnixMilli // when RefreshToken was minted
	RefreshUsedAt   UnixMilli // when it was last used in a refresh; zero if never

	Counters Counters

	// Revision orders the states of one client: the machine gives every state it writes the
	// number of token requests in its history, the measure by which it adopts a stored state
	// on read, so that a store can refuse atomically a write older than the state it holds
	// (a lock holder that outlived its lock). Zero, and not encoded, for a state no machine
	// wrote yet; a state stored by an older version has none, and a store then counts its
	// requests itself.
	Revision int

	// Start is the lease a driver may send with before its machine is running: written with
	// the state by a machine whose Options.LeaseKey is set, absent otherwise, and never read
	// back by ParseState (a machine decides from the tokens). An older version ignores it,
	// and drops it when it rewrites the state.
	Start *StartLease
}

// StartLease is the lease a machine wrote with its state (Options.LeaseKey), for a driver
// that starts before its machine: it may send a request for one of URLs with Authorization
// until ValidUntil, when Key equals the key it would open its machine with, and hands any
// answer but a success to the machine (ResourceRequest.Authorization).
type StartLease struct {
	Key string // the Options.LeaseKey of the machine that wrote it; compared for equality only
	Lease
	// URLs maps the references of the machine's latest resource requests to the URLs it
	// resolved them to (Settings.ResolveURL), at most MaxStartURLs.
	URLs map[string]string
}

// MaxStartURLs bounds the resolved references a StartLease carries.
const MaxStartURLs = 8

// Counters count a client's token requests across restarts, as far as the state is stored.
type Counters struct {
	ClientCredentialsRequests int // client_credentials requests made, failed ones included
	RefreshRequests           int // refresh_token requests made, failed ones included
	Logins                    int // successful client_credentials grants: refresh tokens minted
	Refreshes                 int // successful refresh_token grants
}

// StateVersion is the version of the encoding that Encode writes and ParseState reads.
const StateVersion = 1

// HasAccessToken reports whether s holds an access token, valid or not.
func (s State) HasAccessToken() bool { return !s.AccessToken.IsZero() }

// String describes the state without its tokens.
func (s State) String() string {
	return "caspio.State{ClientID: " + s.ClientID + ", AccessToken: " + s.AccessToken.String() +
		", ExpiresAt: " + formatInt(int64(s.ExpiresAt)) +
		", RefreshToken: " + s.RefreshToken.String() +
		", Logins: " + itoa(s.Counters.Logins) + ", Refreshes: " + itoa(s.Counters.Refreshes) + "}"
}

// GoString is String, for %#v.
func (s State) GoString() string { return s.String() }

// Encode returns s as a decoded-JSON value (map[string]any with string and float64 leaves),
// for the host to encode as JSON and store. Every runtime writes this same format. It
// reveals the tokens: store it where only this client can read it.
func (s State) Encode() map[string]any {
	m := map[string]any{
		"version":   float64(StateVersion),
		"client_id": s.ClientID,
		"token_url": s.TokenURL,
		"counters": map[string]any{
			"client_credentials_requests": float64(s.Counters.ClientCredentialsRequests),
			"refresh_token_requests":      float64(s.Counters.RefreshRequests),
			"logins":                      float64(s.Counters.Logins),
			"refreshes":                   float64(s.Counters.Refreshes),
		},
	}
	if s.Revision != 0 {
		m["revision"] = float64(s.Revision)
	}
	if l := s.Start; l != nil && !l.Authorization.IsZero() {
		urls := make(map[string]any, len(l.URLs))
		for ref, url := range l.URLs {
			urls[ref] = url
		}
		m["lease"] = map[string]any{"key": l.Key, "authorization": l.Authorization.Reveal(), "valid_until": float64(l.ValidUntil), "urls": urls}
	}
	if !s.AccessToken.IsZero() {
		m["access_token"] = s.AccessToken.Reveal()
		m["expires_at"] = float64(s.ExpiresAt)
		m["obtained_at"] = float64(s.ObtainedAt)
	}
	if !s.RefreshToken.IsZero() {
		m["refresh_token"] = s.RefreshToken.Reveal()
		m["refresh_issued_at"] = float64(s.RefreshIssuedAt)
		if s.RefreshUsedAt != 0 {
			m["refresh_used_at"] = float64(s.RefreshUsedAt)
		}
	}
	return m
}

// ParseState reads a state that Encode wrote, after the host decoded its JSON. A corrupt,
// truncated or newer-version state gives a *StateError; it never panics.
func ParseState(v any) (State, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return State{}, &StateError{Problem: "expected a JSON object, got " + jsonKind(v)}
	}
	version, err := stateNumber(m, "version", true)
	if err != nil {
		return State{}, err
	}
	switch {
	case version > StateVersion:
		return State{}, &StateError{Field: "version", Problem: formatInt(version) + " is newer than this version of caspio-auth reads (" + itoa(StateVersion) + "); upgrade caspio-auth or delete the stored state"}
	case version < 1:
		return State{}, &StateError{Field: "version", Problem: "expected a positive version number"}
	}
	var s State
	if s.ClientID, err = stateString(m, "client_id", true); err != nil {
		return State{}, err
	}
	if s.TokenURL, err = stateString(m, "token_url", true); err != nil {
		return State{}, err
	}

	revision, err := stateNumber(m, "revision", false)
	if err != nil {
		return State{}, err
	}
	s.Revision = int(revision)

	access, err := stateString(m, "access_token", false)
	if err != nil {
		return State{}, err
	}
	if access != "" {
		s.AccessToken = NewSecret(access)
		expires, err := stateNumber(m, "expires_at", true)
		if err != nil {
			return State{}, err
		}
		obtained, err := stateNumber(m, "obtained_at", false)
		if err != nil {
			return State{}, err
		}
		s.ExpiresAt, s.ObtainedAt = UnixMilli(expires), UnixMilli(obtained)
	}

	refresh, err := stateString(m, "refresh_token", false)
	if err != nil {
		return State{}, err
	}
	if refresh != "" {
		s.RefreshToken = NewSecret(refresh)
		issued, err := stateNumber(m, "refresh_issued_at", true)
		if err != nil {
			return State{}, err
		}
		used, err := stateNumber(m, "refresh_used_at", false)
		if err != nil {
			return State{}, err
		}
		s.RefreshIssuedAt, s.RefreshUsedAt = UnixMilli(issued), UnixMilli(used)
	}

	if c, present := m["counters"]; present {
		cm, ok := c.(map[string]any)
		if !ok {
			return State{}, &StateError{Field: "counters", Problem: "expected an object, got " + jsonKind(c)}
		}
		for name, dst := range map[string]*int{
			"client_credentials_requests": &s.Counters.ClientCredentialsRequests,
			"refresh_token_requests":      &s.Counters.RefreshRequests,
			"logins":                      &s.Counters.Logins,
			"refreshes":                   &s.Counters.Refreshes,
		} {
			n, err := stateNumber(cm, name, false)
			if err != nil {
				err.(*StateError).Field = "counters." + name
				return State{}, err
			}
			*dst = int(n)
		}
	}
	return s, nil
}

// maxStateNumber bounds the integers a state may hold: JavaScript numbers are exact up to
// 2^53, and every runtime must read the same value.
const maxStateNumber = 1 << 53

func stateNumber(m map[string]any, key string, required bool) (int64, error) {
	v, present := m[key]
	if !present {
		if required {
			return 0, &StateError{Field: key, Problem: "is missing (the state is truncated or not written by caspio-auth)"}
		}
		return 0, nil
	}
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || f < 0 || f > maxStateNumber {
		return 0, &StateError{Field: key, Problem: "expected a whole non-negative number, got " + jsonKind(v)}
	}
	return int64(f), nil
}

func stateString(m map[string]any, key string, required bool) (string, error) {
	v, present := m[key]
	if !present {
		if required {
			return "", &StateError{Field: key, Problem: "is missing (the state is truncated or not written by caspio-auth)"}
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", &StateError{Field: key, Problem: "expected a string, got " + jsonKind(v)}
	}
	return s, nil
}

// jsonKind names the JSON type of a decoded value, for messages that must not quote it.
func jsonKind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "a non-finite number"
		}
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return "the number " + formatInt(int64(x))
		}
		return "the number " + formatNumber(x)
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return "an unsupported value"
	}
}
