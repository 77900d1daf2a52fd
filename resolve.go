package caspio

// ResolveURL turns a resource reference into the URL to request with the bearer token.
//
// A path resolves against the resource base: with base https://c1abc123.caspio.com/rest/v2,
// "tables", "/tables" and "/v2/tables" all give https://c1abc123.caspio.com/rest/v2/tables,
// and "tables/Orders/records?q.pageSize=100" keeps its query. Characters that may not stand
// in a URL (a space in q.where, say) are percent-encoded; existing %XX escapes are kept.
//
// The bearer token never leaves the resource origin, nor the resource base: an absolute URL
// to another origin, a scheme-relative "//host" reference, a reference with user info or
// with a scheme but no "//" (data:..., http:host), a path with "." or ".." segments (encoded
// or not) and a path naming the other API version are refused with a *URLError.
func (f *Settings) ResolveURL(ref string) (string, error) {
	refuse := func(problem string) (string, error) {
		return "", &URLError{Ref: shownRef(ref), Problem: problem}
	}
	if !f.usable() {
		return "", errZeroSettings()
	}
	if trimSpaceASCII(ref) == "" {
		return refuse(`is empty; give a path such as "tables" or "tables/Orders/records"`)
	}
	if hasControlOrBackslash(ref) {
		return refuse("contains a control character or a backslash")
	}
	if i := indexByte(ref, '#'); i >= 0 {
		ref = ref[:i] // fragments are never sent
	}
	path, query, _ := cut(ref, "?")

	if mayHoldUserInfo(path) {
		return refuse(`has user info (a name or password before "@"); credentials never go in a URL, and the bearer token only to ` + f.resourceOrigin)
	}
	if hasPrefix(path, "//") {
		return refuse("is scheme-relative (//host); give a path on the resource endpoint " + f.resourceOrigin)
	}
	absolute := false
	if n := schemeEnd(path); n > 0 {
		if !hasPrefix(path[n:], "//") {
			// Not a path: sent as one, it would reach the REST base with the bearer token,
			// which is not what was asked for.
			return refuse(`has a scheme but no "//" (such as data: or http:host); give a path, or a full URL on the resource endpoint ` + f.resourceOrigin)
		}
		absolute = true
		p, ok := f.onResourceOrigin(path, n)
		if !ok {
			return refuse("is not on the resource endpoint " + f.resourceOrigin + "; the bearer token is sent nowhere else")
		}
		if !hasPathPrefix(p, f.resourcePath) {
			return refuse("is outside the REST base " + f.resourceBase)
		}
		path = p[len(f.resourcePath):]
	}

	path = trimPrefix(path, "/")
	base := trimPrefix(f.resourcePath, "/")
	switch {
	case absolute:
		// The REST base is already stripped; what follows is the resource path as it is.
	case hasPathPrefix(path, base):
		path = trimPrefix(path[len(base):], "/")
	case f.apiVersion != "" && hasPathPrefix(path, f.apiVersion):
		path = trimPrefix(path[len(f.apiVersion):], "/")
	default:
		for _, other := range [...]string{"v2", "v3", "rest/v2", "rest/v3", "integrations/rest/v3"} {
			if hasPathPrefix(path, other) {
				version := other[len(other)-2:]
				return refuse("names REST API " + version + " but the client is configured for " + f.apiVersionName() + "; set APIVersion to " + quote(version) + " or give a path relative to " + f.resourceBase)
			}
		}
	}

	if hasDotSegment(path) {
		return refuse(`has a "." or ".." segment; give a path below ` + f.resourceBase)
	}
	if contains(trimSuffix(path, "/"), "//") {
		return refuse("has an empty path segment (//)")
	}

	if absolute && !needsEscape(path, false) && !needsEscape(query, true) && spells(ref, f.resourceBase, path, query) {
		return ref, nil // already the URL to request, as resource URLs built by a client are
	}
	var b builder
	b.Grow(len(f.resourceBase) + len(ref) + 8)
	b.WriteString(f.resourceBase)
	if path != "" {
		b.WriteByte('/')
		escapeLoose(&b, path, false)
	}
	if query != "" {
		b.WriteByte('?')
		escapeLoose(&b, query, true)
	}
	return b.String(), nil
}

// hasControlOrBackslash reports whether s has a control character or a backslash.
func hasControlOrBackslash(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return true
		}
	}
	return false
}

// onResourceOrigin returns the path of path, an absolute URL whose scheme with its colon is
// n bytes long, if it is on the resource origin. The origin as the settings spells it (lower
// case, no default port) is matched at once; any other spelling is parsed.
func (f *Settings) onResourceOrigin(path string, n int) (string, bool) {
	if rest, ok := cutPrefix(path, f.resourceOrigin); ok && (rest == "" || rest[0] == '/') {
		return rest, true
	}
	rest := path[n+2:]
	origin, p := rest, ""
	if i := indexByte(rest, '/'); i >= 0 {
		origin, p = rest[:i], rest[i:]
	}
	e, err := parseEndpoint("ref", lowerASCII(path[:n-1])+"://"+origin)
	return p, err == nil && e.origin == f.resourceOrigin
}

// hasPathPrefix reports whether path is prefix, or prefix and then "/" and more.
func hasPathPrefix(path, prefix string) bool {
	return hasPrefix(path, prefix) && (len(path) == len(prefix) || path[len(prefix)] == '/')
}

// spells reports whether ref is base, then "/" and path if path is not empty, then "?" and
// query if query is not empty: the URL ResolveURL would build.
func spells(ref, base, path, query string) bool {
	rest, ok := cutPrefix(ref, base)
	if !ok {
		return false
	}
	if path != "" {
		if rest, ok = cutPrefix(rest, "/"); !ok {
			return false
		}
		if rest, ok = cutPrefix(rest, path); !ok {
			return false
		}
	}
	if query == "" {
		return rest == ""
	}
	return len(rest) == len(query)+1 && rest[0] == '?' && rest[1:] == query
}

// CheckLocation checks the Location of a redirect answered to a resource request, before a
// client follows it. It refuses with a *URLError a Location that may carry user info
// (user:password@host), which is never sent on nor shown, and one that is not an http(s) URL
// (another scheme, or a scheme without "//"); fetch refuses both too. A client follows any
// other Location, with the bearer token only if ResolveURL accepts the URL it leads to, and
// refuses the same way a Location that its URL parser rejects.
func CheckLocation(location string) error {
	// As URL parsers do: tabs and line breaks are dropped, surrounding spaces trimmed.
	l := trimSpaceASCII(dropTabsAndNewlines(location))
	refuse := func(problem string) error { return &URLError{Ref: shownRef(l), Problem: problem} }
	if mayHoldUserInfo(l) {
		return refuse(`is a redirect to a URL with user info (a name or password before "@"); it is not followed, as credentials never go in a URL`)
	}
	if n := schemeEnd(l); n > 0 {
		if scheme := lowerASCII(l[:n-1]); scheme != "http" && scheme != "https" {
			return refuse("is a redirect to a URL that is not http(s); it is not followed")
		}
		if !hasPrefix(l[n:], "//") {
			return refuse(`is a redirect to an http(s) URL without "//"; it is not followed`)
		}
	}
	return nil
}

// schemeEnd returns the length of the scheme of ref with its colon (6 for "https:..."), or 0
// when ref does not start with one: a letter, then letters, digits, "+", "-" or ".".
func schemeEnd(ref string) int {
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return i + 1
		default:
			return 0
		}
	}
	return 0
}

// authorityStart returns where the authority of ref would begin: after its scheme and the
// slashes (or backslashes, which browsers read as slashes) that follow it, or after the two
// leading slashes of a scheme-relative reference. ok is false for a path, which has none.
func authorityStart(ref string) (start int, ok bool) {
	n := schemeEnd(ref)
	start = n
	for start < len(ref) && (ref[start] == '/' || ref[start] == '\\') {
		start++
	}
	return start, n > 0 || start >= 2
}

// mayHoldUserInfo reports whether ref may carry user info: it has an authority, and an "@"
// before its query or fragment. The "@" may stand after a "/" that a URL parser takes for
// the end of the host (https://id:pa/ss@host): the password is there all the same.
func mayHoldUserInfo(ref string) bool {
	at := indexByte(ref, '@')
	if at < 0 {
		return false
	}
	for i := 0; i < at; i++ {
		if ref[i] == '?' || ref[i] == '#' {
			return false // the "@" is in the query or fragment
		}
	}
	_, hasAuthority := authorityStart(ref)
	return hasAuthority
}

// shownRef is a reference as an error shows it (see errors.go): without its query and
// fragment, with any user info replaced by [redacted], and as its scheme alone when it is not
// a hierarchical URL (data:..., mailto:...), whose rest may hold anything.
func shownRef(ref string) string {
	if i := indexAnyByte(ref, "?#"); i >= 0 {
		ref = ref[:i]
	}
	if n := schemeEnd(ref); n > 0 && !hasPrefix(ref[n:], "//") {
		return ref[:n]
	}
	if start, ok := authorityStart(ref); ok {
		if at := lastIndexByte(ref, '@'); at >= start {
			ref = ref[:start] + redacted + ref[at:]
		}
	}
	return ref
}

func (f *Settings) apiVersionName() string {
	if f.apiVersion == "" {
		return "the REST base " + f.resourceBase
	}
	return f.apiVersion
}

// hasDotSegment reports whether path has a dot segment (see dotSegment). It is the one
// judge of dot segments in the core: configured endpoints (parseEndpoint), resource paths
// (ResolveURL) and redirects (removeDotSegments) all ask it, so that no spelling of a dot
// passes one check and not another.
func hasDotSegment(path string) bool {
	for start, i := 0, 0; i <= len(path); i++ {
		if i < len(path) && path[i] != '/' {
			continue
		}
		if dotSegment(path[start:i]) > 0 {
			return true
		}
		start = i + 1
	}
	return false
}

// dotSegment returns 1 when seg is ".", 2 when it is "..", and 0 otherwise. A dot may be
// percent-encoded (%2e, in either case), as URL parsers read it.
func dotSegment(seg string) int {
	switch len(seg) {
	case 1:
		if seg == "." {
			return 1
		}
	case 2:
		if seg == ".." {
			return 2
		}
	case 3:
		if isEncodedDot(seg) {
			return 1
		}
	case 4:
		if seg[0] == '.' && isEncodedDot(seg[1:]) || isEncodedDot(seg[:3]) && seg[3] == '.' {
			return 2
		}
	case 6:
		if isEncodedDot(seg[:3]) && isEncodedDot(seg[3:]) {
			return 2
		}
	}
	return 0
}

// isEncodedDot reports whether s, of three bytes, is "%2e" or "%2E".
func isEncodedDot(s string) bool { return s[0] == '%' && s[1] == '2' && (s[2] == 'e' || s[2] == 'E') }

// escapeLoose writes s with every byte that may not stand in a URL path (or query)
// percent-encoded, keeping valid %XX escapes and the delimiters the caller wrote.
func escapeLoose(b *builder, s string, inQuery bool) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keepsByte(s, i, inQuery) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}

// needsEscape reports whether escapeLoose would change s.
func needsEscape(s string, inQuery bool) bool {
	for i := 0; i < len(s); i++ {
		if !isURLByte(s[i]) && !keepsByte(s, i, inQuery) {
			return true
		}
	}
	return false
}

// keepsByte reports whether escapeLoose keeps the byte at i of s as it is: an unreserved
// byte or a delimiter, a valid %XX escape's "%", and "?" in a query.
func keepsByte(s string, i int, inQuery bool) bool {
	switch c := s[i]; {
	case isURLByte(c):
		return true
	case c == '%':
		return i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2])
	}
	return inQuery && s[i] == '?'
}

// isURLByte reports whether c stands in a URL path as it is: a letter, a digit, or one of
// -._~!$&'()*+,;=:@/ (the unreserved bytes and the delimiters that a path may hold).
func isURLByte(c byte) bool {
	switch {
	case c < 64:
		return urlBytesBelow64&(1<<c) != 0
	case c < 128:
		return urlBytesFrom64&(1<<(c-64)) != 0
	}
	return false
}

// The bytes isURLByte accepts, as bit masks: bit c for the byte c below 64, bit c-64 above.
const (
	urlBytesBelow64 = 1<<'-' | 1<<'.' | 1<<'!' | 1<<'$' | 1<<'&' | 1<<'\'' | 1<<'(' | 1<<')' |
		1<<'*' | 1<<'+' | 1<<',' | 1<<';' | 1<<'=' | 1<<':' | 1<<'/' |
		(1<<10-1)<<'0' // the digits
	urlBytesFrom64 = 1<<('@'-64) | 1<<('_'-64) | 1<<('~'-64) |
		(1<<26-1)<<('A'-64) | (1<<26-1)<<('a'-64) // the letters
)

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
