package caspio

import (
	"unicode/utf8"
	"unsafe"

	"github.com/caspio-auth/caspio/internal/decimal"
)

// ASCII-only text helpers. The core could call strings.ToLower, strings.EqualFold,
// strconv.Quote and strconv.FormatFloat instead, but those link the Unicode case and
// printability tables and the float formatting tables, some 20 KB of a WebAssembly build
// whose budget is tight, for inputs (hosts, schemes, versions, token types) that are ASCII.

// lowerASCII lower-cases the ASCII letters of s.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := make([]byte, len(s)) // not []byte(s): its runtime function is not linked otherwise
			copy(b, s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// equalFoldASCII reports whether a and b are equal ignoring ASCII case.
func equalFoldASCII(a, b string) bool { return len(a) == len(b) && lowerASCII(a) == lowerASCII(b) }

// trimSpaceASCII removes leading and trailing ASCII white space.
func trimSpaceASCII(s string) string {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' }
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// quote puts s in double quotes for a message, escaping quotes, backslashes, control
// characters and invalid UTF-8, and shortening it to 200 bytes. It is for text that may be
// shown (see errors.go): never for a value that may be a credential.
func quote(s string) string {
	const hex = "0123456789abcdef"
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
		case c >= utf8.RuneSelf:
			if size := runeSize(s[i:]); size > 0 {
				b = append(b, s[i:i+size]...)
				i += size
				continue
			}
			b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
		i++
	}
	return string(append(b, '"'))
}

// describe tells what a value looks like without showing any of it: its length and the
// kinds of character in it, e.g. "38 characters: letters, digits and punctuation".
func describe(s string) string {
	n := runeCount(s)
	if n == 0 {
		return "empty"
	}
	var letters, digits, punctuation, spaces, controls, nonASCII bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			letters = true
		case '0' <= c && c <= '9':
			digits = true
		case c == ' ':
			spaces = true
		case c < 0x20 || c == 0x7f:
			controls = true
		case c >= utf8.RuneSelf:
			nonASCII = true
		default:
			punctuation = true
		}
	}
	var kinds []string
	for _, k := range []struct {
		present bool
		name    string
	}{{letters, "letters"}, {digits, "digits"}, {punctuation, "punctuation"}, {spaces, "spaces"}, {controls, "control characters"}, {nonASCII, "non-ASCII characters"}} {
		if k.present {
			kinds = append(kinds, k.name)
		}
	}
	out := characters(n) + ": "
	for i, k := range kinds {
		switch {
		case i == 0:
		case i == len(kinds)-1:
			out += " and "
		default:
			out += ", "
		}
		out += k
	}
	return out
}

// runeCount is utf8.RuneCountInString, and runeSize the size of the first character of s
// (a UTF-8 sequence) or 0 when s does not start with one, as utf8.DecodeRuneInString tells:
// both by range loops, which decode with the runtime's own decoder, as validUTF8 does
// (proxyrules.go). The utf8 functions would add their decoder to the WebAssembly build.
func runeCount(s string) int {
	n := 0
	for range s {
		n++
	}
	return n
}

func runeSize(s string) int {
	for i, r := range s {
		if i > 0 {
			return i
		}
		if r == utf8.RuneError && !hasPrefix(s, "\uFFFD") {
			return 0
		}
	}
	return len(s)
}

// characterAt names the byte at i of s and where it stands, counting characters from 1,
// without showing the rest: e.g. `a space at character 7 of 40`. Letters and digits are
// named by kind only; anything else by itself, as it is the character at fault.
func characterAt(s string, i int) string {
	return characterName(s[i]) + " at character " + itoa(runeCount(s[:i])+1) + " of " + itoa(runeCount(s))
}

func characterName(c byte) string {
	const hex = "0123456789abcdef"
	switch {
	case c == ' ':
		return "a space"
	case c == '\t':
		return "a tab"
	case c == '\n':
		return "a line feed"
	case c == '\r':
		return "a carriage return"
	case c < 0x20 || c == 0x7f:
		return "the control character 0x" + string([]byte{hex[c>>4], hex[c&15]})
	case c >= utf8.RuneSelf:
		return "a non-ASCII character"
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		return "a letter"
	case '0' <= c && c <= '9':
		return "a digit"
	case c == '"':
		return "a double quote"
	case c == '\\':
		return "a backslash"
	}
	return string([]byte{'"', c, '"'})
}

// characters is "1 character" or "n characters".
func characters(n int) string {
	if n == 1 {
		return "1 character"
	}
	return itoa(n) + " characters"
}

// formatNumber writes a JSON number for a message: whole numbers exactly, others with up
// to six decimals.
func formatNumber(f float64) string {
	switch {
	case f != f:
		return "NaN"
	case f > 1e15 || f < -1e15:
		if f > 0 {
			return "a number above 10^15"
		}
		return "a number below -10^15"
	}
	neg := f < 0
	if neg {
		f = -f
	}
	whole := int64(f)
	frac := int64((f-float64(whole))*1e6 + 0.5)
	if frac >= 1e6 {
		whole, frac = whole+1, 0
	}
	s := formatInt(whole)
	if frac > 0 {
		digits := formatInt(frac + 1e6)[1:] // six digits, zero-padded
		for digits[len(digits)-1] == '0' {
			digits = digits[:len(digits)-1]
		}
		s += "." + digits
	}
	if neg {
		s = "-" + s
	}
	return s
}

// dropTabsAndNewlines removes every tab, CR and LF, as the URL standard does before it
// parses a URL. A loop, not strings.NewReplacer, which would add about 40 KB to the
// WebAssembly build.
func dropTabsAndNewlines(s string) string {
	if indexAnyByte(s, "\t\r\n") < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\t' && c != '\r' && c != '\n' {
			b = append(b, c)
		}
	}
	return string(b)
}

// parseDecimal reads s as a decimal number of at most limit: one or more ASCII digits, no
// sign. A loop, not strconv's parsers, whose error type links strconv.Quote's tables into
// the WebAssembly build.
func parseDecimal(s string, limit int64) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
		if n > limit {
			return 0, false
		}
	}
	return n, true
}

// indexAnyByte is strings.IndexAny for a set of ASCII bytes, none of which a byte of a
// multi-byte UTF-8 sequence equals; onlyBytes and trimSlashes are strings.Trim(s, set) == ""
// and strings.TrimRight(s, "/") in the same way. The strings functions' Unicode paths
// (rune decoding, IndexRune) would add about 10 KB to the WebAssembly build.
func indexAnyByte(s, set string) int {
	for i := 0; i < len(s); i++ {
		if indexByte(set, s[i]) >= 0 {
			return i
		}
	}
	return -1
}

func onlyBytes(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if indexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}

func trimSlashes(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// Twins of the strings functions the core uses, so that the WebAssembly build need not
// link package strings: importing it brings the init code of io and unicode (io's error
// values, unicode's tables of tables). TestStringsTwins checks each against the strings
// function of the same name.

// builder is strings.Builder's WriteString, WriteByte, Grow, Len and String.
type builder struct{ buf []byte }

func (b *builder) WriteString(s string) { b.buf = append(b.buf, s...) }
func (b *builder) Len() int             { return len(b.buf) }

// String returns the bytes written so far without copying them, as strings.Builder does:
// the builder only ever appends, so the bytes a returned string shares are never changed.
func (b *builder) String() string { return unsafe.String(unsafe.SliceData(b.buf), len(b.buf)) }

// WriteByte has io.ByteWriter's signature, as go vet asks; it never fails.
func (b *builder) WriteByte(c byte) error {
	b.buf = append(b.buf, c)
	return nil
}

func (b *builder) Grow(n int) {
	if cap(b.buf)-len(b.buf) < n {
		b.buf = append(make([]byte, 0, 2*cap(b.buf)+n), b.buf...)
	}
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func lastIndexByte(s string, c byte) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func index(s, substr string) int {
	if substr == "" {
		return 0
	}
	for i := 0; i+len(substr) <= len(s); i++ {
		if s[i] == substr[0] && s[i:i+len(substr)] == substr {
			return i
		}
	}
	return -1
}

func contains(s, substr string) bool { return index(s, substr) >= 0 }

func hasPrefix(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}

func cut(s, sep string) (before, after string, found bool) {
	if i := index(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

func cutPrefix(s, prefix string) (after string, found bool) {
	if !hasPrefix(s, prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

func trimPrefix(s, prefix string) string {
	s, _ = cutPrefix(s, prefix)
	return s
}

func trimSuffix(s, suffix string) string {
	if hasSuffix(s, suffix) {
		return s[:len(s)-len(suffix)]
	}
	return s
}

// Twins of strconv.Itoa and FormatInt in base 10; AppendInt's is internal/decimal's, which
// the bridge (wasm/) calls too. They are the only strconv functions the core needs: without
// strconv, the WebAssembly build leaves out the errors package and the type names that
// strconv's error values bring (about 1.7 KB brotli).

func itoa(n int) string { return string(decimal.AppendInt(nil, int64(n))) }

func formatInt(n int64) string { return string(decimal.AppendInt(nil, n)) }
