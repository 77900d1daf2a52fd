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
// to another origin, a scheme-relative "//host" reference, a path with "." or ".." segments
// (encoded or not) and a path naming the other API version are refused with a *URLError.
func (f *Flow) ResolveURL(ref string) (string, error) {
	refuse := func(problem string) (string, error) {
		shown := ref
		if i := strings.IndexAny(shown, "?#"); i >= 0 {
			shown = shown[:i] // a query may hold data the caller would rather not log
		}
		return "", &URLError{Ref: shown, Problem: problem}
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

	if strings.HasPrefix(path, "//") {
		return refuse("is scheme-relative (//host); give a path on the resource endpoint " + f.resourceOrigin)
	}
	absolute := false
	if scheme, rest, ok := strings.Cut(path, "://"); ok && !strings.Contains(scheme, "/") {
		absolute = true
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
