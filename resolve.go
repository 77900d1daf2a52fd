package caspio

import "strings"

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
func (f *Flow) ResolveURL(ref string) (string, error) {
	refuse := func(problem string) (string, error) {
		return "", &URLError{Ref: shownRef(ref), Problem: problem}
	}
	if trimSpaceASCII(ref) == "" {
		return refuse(`is empty; give a path such as "tables" or "tables/Orders/records"`)
	}
	if hasControl(ref) || strings.Contains(ref, "\\") {
		return refuse("contains a control character or a backslash")
	}
	if i := strings.IndexByte(ref, '#'); i >= 0 {
		ref = ref[:i] // fragments are never sent
	}
	path, query, hasQuery := strings.Cut(ref, "?")

	if mayHoldUserInfo(path) {
		return refuse(`has user info (a name or password before "@"); credentials never go in a URL, and the bearer token only to ` + f.resourceOrigin)
	}
	if strings.HasPrefix(path, "//") {
		return refuse("is scheme-relative (//host); give a path on the resource endpoint " + f.resourceOrigin)
	}
	absolute := false
	if n := schemeEnd(path); n > 0 {
		if !strings.HasPrefix(path[n:], "//") {
			// Not a path: sent as one, it would reach the REST base with the bearer token,
			// which is not what was asked for.
			return refuse(`has a scheme but no "//" (such as data: or http:host); give a path, or a full URL on the resource endpoint ` + f.resourceOrigin)
		}
		absolute = true
		scheme, rest := path[:n-1], path[n+2:]
		origin, p := rest, ""
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			origin, p = rest[:i], rest[i:]
		}
		e, err := parseEndpoint("ref", lowerASCII(scheme)+"://"+origin)
		if err != nil || e.origin != f.resourceOrigin {
			return refuse("is not on the resource endpoint " + f.resourceOrigin + "; the bearer token is sent nowhere else")
		}
		if p != f.resourcePath && !strings.HasPrefix(p, f.resourcePath+"/") {
			return refuse("is outside the REST base " + f.resourceBase)
		}
		path = p[len(f.resourcePath):]
	}

	path = strings.TrimPrefix(path, "/")
	base := strings.TrimPrefix(f.resourcePath, "/")
	switch {
	case absolute:
		// The REST base is already stripped; what follows is the resource path as it is.
	case path == base || strings.HasPrefix(path, base+"/"):
		path = strings.TrimPrefix(path[len(base):], "/")
	case f.apiVersion != "" && (path == f.apiVersion || strings.HasPrefix(path, f.apiVersion+"/")):
		path = strings.TrimPrefix(path[len(f.apiVersion):], "/")
	default:
		for _, other := range []string{"v2", "v3", "rest/v2", "rest/v3", "integrations/rest/v3"} {
			if strings.HasPrefix(path, other+"/") || path == other {
				version := other[len(other)-2:]
				return refuse("names REST API " + version + " but the client is configured for " + f.apiVersionName() + "; set APIVersion to " + quote(version) + " or give a path relative to " + f.resourceBase)
			}
		}
	}

	for _, seg := range strings.Split(path, "/") {
		if isDotSegment(seg) {
			return refuse(`has a "." or ".." segment; give a path below ` + f.resourceBase)
		}
	}
	if strings.Contains(strings.TrimSuffix(path, "/"), "//") {
		return refuse("has an empty path segment (//)")
	}

	var b strings.Builder
	b.Grow(len(f.resourceBase) + len(ref) + 8)
	b.WriteString(f.resourceBase)
	if path != "" {
		b.WriteByte('/')
		escapeLoose(&b, path, false)
	}
	if hasQuery && query != "" {
		b.WriteByte('?')
		escapeLoose(&b, query, true)
	}
	return b.String(), nil
}

// CheckLocation checks the Location of a redirect answered to a resource request, before a
// client follows it. It refuses with a *URLError a Location that may carry user info
// (user:password@host), which is never sent on nor shown, and one that is not an http(s) URL
// (another scheme, or a scheme without "//"); fetch refuses both too. A client follows any
// other Location, with the bearer token only if ResolveURL accepts the URL it leads to, and
// refuses the same way a Location that its URL parser rejects.
func CheckLocation(location string) error {
	// As URL parsers do: tabs and line breaks are dropped, surrounding spaces trimmed.
	l := trimSpaceASCII(strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(location))
	refuse := func(problem string) error { return &URLError{Ref: shownRef(l), Problem: problem} }
	if mayHoldUserInfo(l) {
		return refuse(`is a redirect to a URL with user info (a name or password before "@"); it is not followed, as credentials never go in a URL`)
	}
	if n := schemeEnd(l); n > 0 {
		if scheme := lowerASCII(l[:n-1]); scheme != "http" && scheme != "https" {
			return refuse("is a redirect to a URL that is not http(s); it is not followed")
		}
		if !strings.HasPrefix(l[n:], "//") {
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
	if i := strings.IndexAny(ref, "?#"); i >= 0 {
		ref = ref[:i]
	}
	_, hasAuthority := authorityStart(ref)
	return hasAuthority && strings.IndexByte(ref, '@') >= 0
}

// shownRef is a reference as an error shows it (see errors.go): without its query and
// fragment, with any user info replaced by [redacted], and as its scheme alone when it is not
// a hierarchical URL (data:..., mailto:...), whose rest may hold anything.
func shownRef(ref string) string {
	if i := strings.IndexAny(ref, "?#"); i >= 0 {
		ref = ref[:i]
	}
	if n := schemeEnd(ref); n > 0 && !strings.HasPrefix(ref[n:], "//") {
		return ref[:n]
	}
	if start, ok := authorityStart(ref); ok {
		if at := strings.LastIndexByte(ref, '@'); at >= start {
			ref = ref[:start] + redacted + ref[at:]
		}
	}
	return ref
}

func (f *Flow) apiVersionName() string {
	if f.apiVersion == "" {
		return "the REST base " + f.resourceBase
	}
	return f.apiVersion
}

// isDotSegment reports whether seg is "." or "..", literally or percent-encoded.
func isDotSegment(seg string) bool {
	s := strings.ReplaceAll(lowerASCII(seg), "%2e", ".")
	return s == "." || s == ".."
}

// escapeLoose writes s with every byte that may not stand in a URL path (or query)
// percent-encoded, keeping valid %XX escapes and the delimiters the caller wrote.
func escapeLoose(b *strings.Builder, s string, inQuery bool) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(c)
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0,
			inQuery && c == '?':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
