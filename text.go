package caspio

import (
	"strconv"
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
// characters and invalid UTF-8, and shortening it to 200 bytes.
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
