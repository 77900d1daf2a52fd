package caspio

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

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
	if strings.Contains(path, "\\") {
		return nil, "has a backslash"
	}
	raw := strings.Split(strings.TrimPrefix(path, "/"), "/")
	segments = make([]string, 0, len(raw))
	for i, seg := range raw {
		where := "segment " + strconv.Itoa(i+1)
		if seg == "" {
			return nil, "has an empty " + where
		}
		s, ok := percentDecode(seg)
		if !ok || !utf8.ValidString(s) {
			return nil, "has a malformed percent-encoding, or one that is not UTF-8, in " + where
		}
		if onlyBytes(s, ".") {
			return nil, "has a " + where + " of dots only"
		}
		if strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") || strings.HasSuffix(s, ".") {
			return nil, "has a " + where + " that starts with a space or ends with a space or a dot"
		}
		if what, at := BadResourceChar(s); what != "" {
			return nil, "has " + what + " in " + where + " at position " + strconv.Itoa(at)
		}
		segments = append(segments, s)
	}
	return segments, ""
}

// ResourceRef spells decoded segments as a path for Caspio: "/" and the segments joined by
// "/", each with its unreserved characters (letters, digits, - . _ ~) as they are and every
// other byte of its UTF-8 percent-encoded (%XX, upper case), as records.go spells a table's
// name (appendPathSegment).
func ResourceRef(segments []string) string {
	if len(segments) == 0 {
		return "/"
	}
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		appendPathSegment(&b, s)
	}
	return b.String()
}

// percentDecode decodes %XX escapes, and nothing else (not "+"); false when one is malformed.
func percentDecode(s string) (string, bool) {
	if !strings.Contains(s, "%") {
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
			case isUnreserved(c) || strings.IndexByte(resourceASCII, c) >= 0:
				continue
			case c < 0x20 || c == 0x7f:
				return "a control character", at
			case c == '%':
				return "'%' after decoding (a double-encoded character)", at
			}
			return "'" + string(r) + "'", at
		}
		if unicode.IsLetter(r) || unicode.IsMark(r) || unicode.Is(unicode.Nd, r) {
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
			errorCode = "HTTP " + strconv.Itoa(status)
		}
		return 502, "caspio_auth_failed", "Caspio refused the proxy's credentials (" + errorCode + ")"
	case status == 429 || status >= 500:
		return 503, "caspio_unavailable", "Caspio's token endpoint is unavailable (HTTP " + strconv.Itoa(status) + "); try again later"
	case status != 0:
		return 502, "caspio_unreachable", "the token request to Caspio failed (HTTP " + strconv.Itoa(status) + ")"
	}
	return 502, "caspio_unreachable", "the request to Caspio failed"
}

// isOAuthCode reports whether s looks like an OAuth error code ("invalid_client"): 1 to 40
// lower-case letters and underscores, which a message may then show.
func isOAuthCode(s string) bool {
	return s != "" && len(s) <= 40 && onlyBytes(s, "abcdefghijklmnopqrstuvwxyz_")
}
