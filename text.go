package caspio

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// ASCII-only text helpers. The core could call strings.ToLower, strings.EqualFold,
// strconv.Quote and strconv.FormatFloat instead, but those link the Unicode case and
// printability tables and the float formatting tables, some 20 KB of a WebAssembly build
// whose budget is tight, for inputs (hosts, schemes, versions, token types) that are ASCII.

// lowerASCII lower-cases the ASCII letters of s.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
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
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
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
	n := utf8.RuneCountInString(s)
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

// characterAt names the byte at i of s and where it stands, counting characters from 1,
// without showing the rest: e.g. `a space at character 7 of 40`. Letters and digits are
// named by kind only; anything else by itself, as it is the character at fault.
func characterAt(s string, i int) string {
	return characterName(s[i]) + " at character " + strconv.Itoa(utf8.RuneCountInString(s[:i])+1) + " of " + strconv.Itoa(utf8.RuneCountInString(s))
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
	return `"` + string(c) + `"`
}

// characters is "1 character" or "n characters".
func characters(n int) string {
	if n == 1 {
		return "1 character"
	}
	return strconv.Itoa(n) + " characters"
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
	s := strconv.FormatInt(whole, 10)
	if frac > 0 {
		digits := strconv.FormatInt(frac+1e6, 10)[1:] // six digits, zero-padded
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
		if strings.IndexByte(set, s[i]) >= 0 {
			return i
		}
	}
	return -1
}

func onlyBytes(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
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
