package caspio

import "unicode/utf8"

// The rules of a proxy in front of the REST API (proxy/ in JavaScript, examples/go-proxy in
// Go): a path that arrives from outside is checked segment by segment before any rule of the
// proxy sees it, and spelled one way for Caspio, so that what reaches Caspio is what the
// rules matched; a token request that failed is answered by one mapping. Both proxies ask
// these functions (the JS one through the WebAssembly exports resourcePath, badResourceChar
// and tokenFailure), and tests/workers/proxy-conformance.js holds them to it.

// ParseResourcePath reads path, a resource path as it arrived (still percent-encoded,
// starting with "/"), into its decoded segments, or says why it is refused: problem then
// completes the sentence "the path ...", e.g. "has an empty segment 2". Only what a resource
// name needs gets through, so that no spelling another server would read as something else
// (dot segments, encoded or double-encoded separators, ";" parameters, overlong UTF-8,
// look-alike dots and slashes) reaches a rule. Allowed in a decoded segment: ASCII letters
// and digits, space and - . _ ~ ! $ & ' ( ) * + , =, and any other letter, combining mark or
// decimal digit; a segment may not be dots only, start with a space, or end with a space or
// a dot.
func ParseResourcePath(path string) (segments []string, problem string) {
	if encodesSeparator(path) {
		return nil, "has a percent-encoded '.', '/' or '\\'"
	}
	if contains(path, "\\") {
		return nil, "has a backslash"
	}
	rest, more := trimPrefix(path, "/"), true
	for i := 0; more; i++ {
		var seg string
		seg, rest, more = cut(rest, "/")
		where := "segment " + itoa(i+1)
		if seg == "" {
			return nil, "has an empty " + where
		}
		s, ok := percentDecode(seg)
		if !ok || !validUTF8(s) {
			return nil, "has a malformed percent-encoding, or one that is not UTF-8, in " + where
		}
		if onlyBytes(s, ".") {
			return nil, "has a " + where + " of dots only"
		}
		if hasPrefix(s, " ") || hasSuffix(s, " ") || hasSuffix(s, ".") {
			return nil, "has a " + where + " that starts with a space or ends with a space or a dot"
		}
		if what, at := BadResourceChar(s); what != "" {
			return nil, "has " + what + " in " + where + " at position " + itoa(at)
		}
		segments = append(segments, s)
	}
	return segments, ""
}

// validUTF8 is utf8.ValidString by a range loop, which decodes as the runtime does: a
// RuneError there is a bad byte unless U+FFFD itself is spelled at that place. (ValidString
// has a code path of its own, about 3 KB of the WebAssembly build.)
func validUTF8(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError && !hasPrefix(s[i:], "\uFFFD") {
			return false
		}
	}
	return true
}

// ResourceRef spells decoded segments as a path for Caspio: "/" and the segments joined by
// "/", each with its unreserved characters (letters, digits, - . _ ~) as they are and every
// other byte of its UTF-8 percent-encoded (%XX, upper case), as records.go spells a table's
// name (appendPathSegment).
func ResourceRef(segments []string) string {
	if len(segments) == 0 {
		return "/"
	}
	var b builder
	for _, s := range segments {
		b.WriteByte('/')
		appendPathSegment(&b, s)
	}
	return b.String()
}

// percentDecode decodes %XX escapes, and nothing else (not "+"); false when one is malformed.
func percentDecode(s string) (string, bool) {
	if !contains(s, "%") {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, ok1 := unhexDigit(s[i+1])
		lo, ok2 := unhexDigit(s[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	return string(b), true
}

func unhexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// resourceASCII are the ASCII characters a resource name may have besides letters and digits.
const resourceASCII = " -._~!$&'()*+,="

// BadResourceChar describes the first character of a decoded segment (or of a segment of a
// proxy's rule) that a resource name does not need, with its position (from 1, in
// characters), or returns "". Not allowed: %
// (a double encoding), ; : @ / \ ? # and the other ASCII punctuation, control characters,
// and every character that is not a letter, combining mark or decimal digit, such as
// fullwidth or one-dot-leader dots.
func BadResourceChar(s string) (what string, at int) {
	for _, r := range s {
		at++
		if r < utf8.RuneSelf {
			c := byte(r)
			switch {
			case isUnreserved(c) || indexByte(resourceASCII, c) >= 0:
				continue
			case c < 0x20 || c == 0x7f:
				return "a control character", at
			case c == '%':
				return "'%' after decoding (a double-encoded character)", at
			}
			return string([]byte{'\'', c, '\''}), at
		}
		if isResourceLetter(r) {
			continue
		}
		return "U+" + codePoint(r) + ", which is not a letter or digit,", at
	}
	return "", 0
}

// encodesSeparator reports whether path holds %2E, %2F or %5C, in either case.
func encodesSeparator(path string) bool {
	for i := 0; i+2 < len(path); i++ {
		if path[i] != '%' {
			continue
		}
		switch path[i+1] {
		case '2':
			if c := path[i+2] | 0x20; c == 'e' || c == 'f' {
				return true
			}
		case '5':
			if path[i+2]|0x20 == 'c' {
				return true
			}
		}
	}
	return false
}

// codePoint spells r in hexadecimal, upper case, at least four digits, as after "U+".
func codePoint(r rune) string {
	const hex = "0123456789ABCDEF"
	var b [8]byte
	i := len(b)
	for v := uint32(r); v > 0 || i > len(b)-4; v >>= 4 {
		i--
		b[i] = hex[v&15]
	}
	return string(b[i:])
}

// ProxyTokenFailure is how a proxy answers a request it could not forward because its token
// request failed with HTTP status (0 when no answer arrived). refused says that the token
// endpoint refused the request with an OAuth error (errorCode, e.g. "invalid_client"):
// a 400 or 401 of that kind is 502 caspio_auth_failed, naming the code when it looks like
// one; 429 and 5xx are 503 caspio_unavailable (it may pass: try again later); anything else
// is 502 caspio_unreachable. The message shows no secret: only the status and the code.
func ProxyTokenFailure(status int, refused bool, errorCode string) (answer int, code, message string) {
	switch {
	case refused && (status == 400 || status == 401):
		if !isOAuthCode(errorCode) {
			errorCode = "HTTP " + itoa(status)
		}
		return 502, "caspio_auth_failed", "Caspio refused the proxy's credentials (" + errorCode + ")"
	case status == 429 || status >= 500:
		return 503, "caspio_unavailable", "Caspio's token endpoint is unavailable (HTTP " + itoa(status) + "); try again later"
	case status != 0:
		return 502, "caspio_unreachable", "the token request to Caspio failed (HTTP " + itoa(status) + ")"
	}
	return 502, "caspio_unreachable", "the request to Caspio failed"
}

// isOAuthCode reports whether s looks like an OAuth error code ("invalid_client"): 1 to 40
// lower-case letters and underscores, which a message may then show.
func isOAuthCode(s string) bool {
	return s != "" && len(s) <= 40 && onlyBytes(s, "abcdefghijklmnopqrstuvwxyz_")
}

// isResourceLetter reports whether r, U+0080 or above, is a letter, a combining mark or a
// decimal digit (unicode.IsLetter, IsMark, or Is(unicode.Nd, r)), by resourceLetters.
func isResourceLetter(r rune) bool {
	next := rune(utf8.RuneSelf)
	for i := 0; i < len(resourceLetters); {
		var v [2]rune // the gap from next, the length minus one
		for k := range v {
			for shift := 0; ; shift += 7 {
				c := resourceLetters[i]
				i++
				v[k] |= rune(c&0x7f) << shift
				if c < 0x80 {
					break
				}
			}
		}
		lo := next + v[0]
		if r < lo {
			return false
		}
		if r <= lo+v[1] {
			return true
		}
		next = lo + v[1] + 1
	}
	return false
}

// resourceLetters holds the characters from U+0080 up that are letters, combining marks or
// decimal digits in Go's unicode package, as ranges in order: two varints a range (7 bits a
// byte, low bits first, the high bit set on all bytes but the last), the gap since the end
// of the range before (from U+0080 for the first) and the range's length minus one. A table
// of its own, not the unicode package's: its tables for L, M and Nd take 5 KB more of the
// WebAssembly build (brotli). TestStandardTwins checks it against the unicode package over
// every code point, and prints the table anew when Go's Unicode version moves.
const resourceLetters = "" +
	"*\x00\n\x00\x04\x00\x05\x16\x01\x1e\x01\xc9\x03\x04\v\x0e\x04\a\x00\x01\x00\x11t\x01\x01" +
	"\x02\x03\x01\x00\x06\x00\x01\x02\x01\x00\x01\x13\x01R\x01\x8a\x01\x01\xac\x01\x01%\x02" +
	"\x00\x06(\b,\x01\x00\x01\x01\x01\x01\x01\x00\b\x1a\x04\x03\x1d\n\x05I\x04e\x01\a\x02\t" +
	"\x01\x12\x02\x00\x10:\x02d\x0e5\x04\x00\x02\x00\x02-\x12\x1b\x04\n\x05\x17\x01\x05\tI" +
	"\x01\x80\x01\x02\t\x01\x12\x01\a\x02\x01\x02\x15\x01\x06\x01\x00\x03\x03\x02\b\x02\x01" +
	"\x02\x03\b\x00\x04\x01\x01\x04\x02\v\n\x00\x01\x00\x02\x02\x01\x05\x04\x01\x02\x15\x01" +
	"\x06\x01\x01\x01\x01\x01\x01\x02\x00\x01\x04\x04\x01\x02\x02\x03\x00\a\x03\x01\x00\a\x0f" +
	"\v\x02\x01\b\x01\x02\x01\x15\x01\x06\x01\x01\x01\x04\x02\t\x01\x02\x01\x02\x02\x00\x0f" +
	"\x03\x02\t\t\x06\x01\x02\x01\a\x02\x01\x02\x15\x01\x06\x01\x01\x01\x04\x02\b\x02\x01\x02" +
	"\x02\a\x02\x04\x01\x01\x04\x02\t\x01\x00\x10\x01\x01\x05\x03\x02\x01\x03\x03\x01\x01\x00" +
	"\x01\x01\x03\x01\x03\x02\x03\v\x04\x04\x03\x02\x01\x03\x02\x00\x06\x00\x0e\t\x10\f\x01" +
	"\x02\x01\x16\x01\x0f\x02\b\x01\x02\x01\x03\a\x01\x01\x02\x02\x00\x02\x03\x02\t\x10\x03" +
	"\x01\a\x01\x02\x01\x16\x01\t\x01\x04\x02\b\x01\x02\x01\x03\a\x01\x06\x01\x01\x03\x02\t" +
	"\x01\x02\f\f\x01\x02\x012\x01\x02\x01\x04\x05\x03\a\x04\x02\t\n\x05\x01\x02\x01\x11\x03" +
	"\x17\x01\b\x01\x00\x02\x06\x03\x00\x04\x05\x01\x00\x01\a\x06\t\x02\x01\r9\x05\x0e\x01\t'" +
	"\x01\x01\x00\x01\x04\x01\x17\x01\x00\x01\x16\x02\x04\x01\x00\x01\x06\x01\t\x02\x03 \x00" +
	"\x17\x01\x06\t\v\x00\x01\x00\x01\x00\x04\t\x01#\x04\x13\x01\x11\x01#\t\x009I\x06M\x02%" +
	"\x01\x00\x05\x00\x02*\x01\xcc\x02\x01\x03\x02\x06\x01\x00\x01\x03\x02(\x01\x03\x02 \x01" +
	"\x03\x02\x06\x01\x00\x01\x03\x02\x0e\x018\x01\x03\x02B\x02\x02 \x0f\x10U\x02\x05\x03\xeb" +
	"\x04\x02\x10\x01\x19\x05J\x06\a\a\x15\t\x15\v\x13\f\f\x01\x02\x01\x01\fS\x03\x00\x04\x01" +
	"\x02\t!\x02\x01\n\x06X\a*\x05E\n\x1e\x01\v\x04\v\n'\x02\x04\v+\x04\x19\x06\t&\x1b\x04>" +
	"\x01\x1c\x02\n\x06\t\r\x00\b\x1e1L\x03\t\x11\b\fs\f7\b\t\x030\x02\b\a*\x02\x02\x10\x02" +
	"\x01&\x05\x95\x04\x02\x05\x02%\x02\x05\x02\a\x01\x00\x01\x00\x01\x00\x01\x1e\x024\x01" +
	"\x06\x01\x00\x03\x02\x01\x06\x03\x03\x02\x05\x04\f\x05\x02\x01\x06t\x00\r\x00\x10\f3 " +
	"\x11\x00\x04\x00\x02\t\x01\x00\x03\x04\x06\x00\x01\x00\x01\x00\x01\x03\x01\n\x02\x03\x05" +
	"\x04\x04\x004\x01\xfb\x14\xe4\x01\x06\b\f%\x01\x00\x05\x00\x027\a\x00\x0f\x17\t\x06\x01" +
	"\x06\x01\x06\x01\x06\x01\x06\x01\x06\x01\x06\x01\x06\x01\x1f/\x00\xd5\x03\x01#\x05\x01" +
	"\x04\x05\x01\x04U\x02\x01\x02\x02\x01Y\x01\x03\x05*\x01]\x11\x1f0\x0f\x80\x04\xbf3@\x8c" +
	"\xad\x01C-\x02\x8c\x02\x03\x1b\x142\x01\t\x01f\n\x01%\b\x02f\x02?\x05\x01\x01\x00\x01" +
	"\x04\x185\x04\x00\x133\fE\n\t\x06\x17\x03\x00\x010\x02#\f\x1c\x03@\x0e\n\x06\x1e\x016\t" +
	"\r\x02\t\x06\x16\x03H\x18\x02\x02\x0f\x02\x04\n\x05\x02\x05\x02\x05\t\x06\x01\x06\x01*" +
	"\x01\r\x06z\x01\x01\x02\t\x06\xa3W\f\x16\x040\x84B\xed\x02\x02i&\x06\f\x04\x05\v\x01\f" +
	"\x01\x04\x01\x00\x01\x01\x01\x01\x01k!\xea\x02\x12?\x025(\v\x04\x0f\x10\x0f@\x04\x01\x86" +
	"\x01\x13\t\a\x19\x06\x19\vX\x03\x05\x02\x05\x02\x05\x02\x02#\v\x01\x19\x01\x12\x01\x01" +
	"\x01\x0e\x02\r\"z\x82\x02\x00\x82\x01\x1c\x030\x0f\x00\x1f\x1f\r\x13\x01\a\x06*\x05\x1d" +
	"\x02#\x04\a0\x9d\x01\x02\t\x06#\x04#\x04'\b3\f\n\x01\x0e\x01\x06\x01\x01\x01\n\x01\x0e" +
	"\x01\x06\x01\x01C\xb6\x02\t\x15\n\a\x18\x05\x01)\x01\bE\x05\x02\x00\x01+\x01\x01\x03\x00" +
	"\x02\x16\n\x16\t\x1eA\x12\x01\x01\n\x15\n\x19F7\x06\x01@\x03\x01\x01\x05\a\x01\x02\x01" +
	"\x1c\x02\x02\x04\x00 \x1c\x03\x1c#\a\x01\x1d\x195\n\x15\n\x12\r\x11nH72\r2\r'\b\t\xc6" +
	"\x02)\x01\x01\x03\x01K\x1f\n\x00\b \x1f\x15*\x14\x1b\x16\tF\x1f\x0f\t;\a\x00\r\x18\a\t" +
	"\x064\x01\t\x04\x03\b#\x02\x00\tD\x04\x03\x01\f\x01\x00#\x11\x01$\x06\x03>\x06\x01\x00" +
	"\x01\x03\x01\x0e\x01\t\a:\x05\t\x06\x03\x01\a\x02\x01\x02\x15\x01\x06\x01\x01\x01\x04" +
	"\x01\t\x02\x01\x02\x02\x02\x00\x06\x00\x05\x06\x02\x06\x03\x04\x8b\x01J\x05\t\x04\x03" +
	"\x1eE\x01\x00\b\t\xa6\x015\x02\b\x17\x05\"@\x03\x00\v\t&8\a\t6\x1a\x02\x0e\x04\t\x06\x06" +
	"\xb9\x01:eI\x15\a\x02\x00\x02\a\x01\x01\x01\x1d\x01\x01\x02\b\f\tF\a\x02-\x02\a\x01\x01" +
	"\x1b>\b\x00\bI\x03\x00\x12H\x87\x02\b\x01,\x01\b\x0f\t\x18\x1d\x02\x15\x01\rI\x06\x01" +
	"\x01\x01+\x03\x00\x01\x01\x01\b\b\t\x06\x05\x01\x01\x01$\x01\x01\x01\x05\a\t\xb6\x02\x16" +
	"\t\x10\x01(\x03\x04\r\tV\x00O\x99\a\xe6\x01\xc3\x01\xcc\x14`\x0f\xaf\b\x10\x15\xaa\x1f" +
	"\xc6\x04\xb9C\xb8\x04\a\x1e\x01\t\x06N\x01\t\x06\x1d\x02\x04\v6\t\x03\f\t\t\x14\x05\x12" +
	"\xb0\x05?\x80\x01J\x048\a\x10@\x01\x01\x01\v\x01\x0e\xf7/\b\xd5\t*\b\xe7E\x03\x01\x06" +
	"\x01\x01\x01\xa2\x02\x0f\x00\x1d\x02\x02\x00\x0e\x03\b\x8b\x03\x84\x12j\x05\f\x03\b\a\t" +
	"\x03\x01\xe1$-\x02\x16\x9e\x04\x04\x03\x05\b\a\x02\x06\x1e\x03\x94\x01\x02\xbb\x03T\x01F" +
	"\x01\x01\x02\x00\x02\x01\x02\x03\x01\v\x01\x00\x01\x06\x01@\x01\x03\x02\a\x01\x06\x01" +
	"\x1b\x01\x03\x01\x04\x01\x00\x03\x06\x01\xd3\x02\x02\x18\x01\x18\x01\x1e\x01\x18\x01\x1e" +
	"\x01\x18\x01\x1e\x01\x18\x01\x1e\x01\x18\x01\a\x021\x80\x046\x041\b\x00\x0e\x00\x16\x04" +
	"\x01\x0e\xd0\b\x1e\x06\x05\xd5\x01\x06\x01\x10\x02\x06\x01\x01\x01\x04\x05=!\x00p,\x03\r" +
	"\x02\t\x04\x00\xc1\x02\x1e\x119\xd6\x03)\xe6\x05\x06\x01\x03\x01\x01\x01\x0e\x01\xc4\x01" +
	"\v\x06)K\x04\t\xa6\t\x03\x01\x1a\x01\x01\x01\x00\x02\x00\x01\t\x01\x03\x01\x00\x01\x00" +
	"\x06\x00\x04\x00\x01\x00\x01\x00\x01\x02\x01\x01\x01\x00\x02\x00\x01\x00\x01\x00\x01\x00" +
	"\x01\x00\x01\x01\x01\x00\x02\x03\x01\x06\x01\x03\x01\x03\x01\x00\x01\t\x01\x10\x05\x02" +
	"\x01\x04\x01\x10\xb4\x1a\t\x86\b\xdf\xcd\x02 \xb9 \x06\xdd\x01\x02\x81-\x0e\xb0:\x9f\x18" +
	"\x9d\x04\xe2\v\xca&\x05\xdf \xd0\xba+\xef\x01"
