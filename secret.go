package caspio

// Secret holds a credential (a client secret, an access or refresh token) so that it cannot
// leak by accident: String, GoString and JSON encoding print a placeholder ("[redacted]";
// %x and %X print its hex, as they go through String too), and because the value sits
// behind a pointer, the fmt verbs that bypass String (%d, say, on a Secret or on a struct
// holding one) print an address, never the text. Reveal is the one way to read it.
//
// The zero Secret is empty.
type Secret struct{ value *string }

const redacted = "[redacted]"

// NewSecret wraps s.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{value: &s}
}

// Reveal returns the secret text. Call it only where the text must go on the wire or to
// storage.
func (s Secret) Reveal() string {
	if s.value == nil {
		return ""
	}
	return *s.value
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.value == nil || *s.value == "" }

// Equal reports whether two secrets hold the same text.
func (s Secret) Equal(o Secret) bool { return s.Reveal() == o.Reveal() }

// String returns a placeholder, or "" for an empty secret, so that printing shows whether a
// secret is set without showing it.
func (s Secret) String() string {
	if s.IsZero() {
		return ""
	}
	return redacted
}

// GoString returns the placeholder in Go syntax, for %#v.
func (s Secret) GoString() string { return `caspio.Secret("` + s.String() + `")` }

// MarshalJSON encodes the placeholder, so that a struct holding a Secret can be logged as
// JSON safely. Stored token state is encoded by State.Encode, which reveals on purpose.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }
