package caspio

// The parser of the endpoint URLs a Config gives (IntegrationURL, TokenURL, ResourceURL),
// which ResolveURL also uses for an absolute reference whose origin is not spelled as the
// configured one. It is strict, and it runs as unoptimised WebAssembly when a Node script
// starts: no strings.Split, no allocation but the origin it returns.

// endpoint is a parsed absolute http(s) URL without user info, query or fragment.
type endpoint struct {
	origin string // scheme://host[:port], lower case
	path   string
}

// parseEndpoint parses an endpoint URL strictly. It requires HTTPS except on loopback hosts,
// where the sandbox and local development run over plain HTTP. Its errors describe the URL
// without quoting any of it: a URL may hold a password, and the field a secret pasted into
// it by mistake.
func parseEndpoint(field, raw string) (endpoint, error) {
	bad := func(problem, fix string) (endpoint, error) {
		return endpoint{}, &ConfigError{Field: field, Problem: problem, Fix: fix}
	}
	s := trimSpaceASCII(raw)
	if i := indexAny(s, func(c byte) bool { return isSpaceOrControl(c) || c == '\\' }); i >= 0 {
		return bad("has "+characterAt(s, i), "give a plain URL such as https://c1abc123.caspio.com")
	}
	scheme, rest, ok := cut(s, "://")
	scheme = lowerASCII(scheme)
	switch {
	case !ok:
		return bad(`is not an absolute URL: it has no "://" (`+describe(s)+")", "give an absolute URL starting with https://")
	case scheme != "https" && scheme != "http":
		return bad("is not an http(s) URL: its scheme is another", "give an absolute URL starting with https://")
	}
	at := len(scheme) + len("://")
	// An "@" anywhere is refused, not only in the host: in https://id:pa/ss@host the
	// password holds a "/" that ends the host for a URL parser, and no Caspio endpoint has one.
	if i := indexByte(rest, '@'); i >= 0 {
		return bad("has "+characterAt(s, at+i)+": user info (user:password@host) is not allowed", "remove it: the client sends the credentials itself, never in a URL")
	}
	if i := indexAnyByte(rest, "?#"); i >= 0 {
		return bad("has a query or fragment, from "+characterAt(s, at+i), "remove everything from ? or #")
	}
	hostport, path := rest, ""
	if i := indexByte(rest, '/'); i >= 0 {
		hostport, path = rest[:i], rest[i:]
	}
	host, port, problem := splitHostPort(hostport)
	if problem != "" {
		return bad(problem, "give a host name such as c1abc123.caspio.com, and a port from 1 to 65535 if any")
	}
	host = lowerASCII(host)
	if scheme == "http" && !isLoopbackHost(host) {
		return bad("uses http:// for a host that is not loopback", "use https://: Caspio accepts HTTPS only (plain http is allowed for localhost, 127.0.0.0/8 and [::1])")
	}
	origin := scheme + "://" + host
	if port != "" && !(scheme == "https" && port == "443") && !(scheme == "http" && port == "80") {
		origin += ":" + port
	}
	if contains(path, "//") || hasDotSegment(path) {
		return bad("has an empty or dot segment in its path", "give the path as the Web services profile shows it")
	}
	return endpoint{origin: origin, path: path}, nil
}

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port", checking each part. When
// s is not one of them, problem says what is wrong, without quoting any of s.
func splitHostPort(s string) (host, port, problem string) {
	if hasPrefix(s, "[") {
		end := indexByte(s, ']')
		if end < 0 {
			return "", "", `has an IPv6 host without its closing "]"`
		}
		host, rest := s[:end+1], s[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return "", "", `has something other than ":port" after its IPv6 host`
			}
			port = rest[1:]
			if !validPort(port) {
				return "", "", "has a port that is not a number from 1 to 65535"
			}
		}
		inner := host[1 : len(host)-1]
		if inner == "" || indexAny(inner, func(c byte) bool { return !isHex(c) && c != ':' && c != '.' }) >= 0 {
			return "", "", `has an IPv6 host with characters other than hex digits, ":" and "."`
		}
		return host, port, ""
	}
	host = s
	if i := lastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
		if !validPort(port) {
			return "", "", "has a port that is not a number from 1 to 65535"
		}
	}
	switch {
	case host == "":
		return "", "", "has no host"
	case len(host) > 253:
		return "", "", "has a host of " + characters(len(host)) + " (at most 253)"
	}
	// Labels: none empty, none longer than 63 bytes.
	for start, i := 0, 0; i <= len(host); i++ {
		if i < len(host) && host[i] != '.' {
			continue
		}
		switch n := i - start; {
		case n == 0:
			return "", "", "has an empty label in its host (two dots in a row, or a dot at either end)"
		case n > 63:
			return "", "", "has a label of " + characters(n) + " in its host (at most 63)"
		}
		start = i + 1
	}
	if i := indexAny(host, func(c byte) bool { return !isHostByte(c) }); i >= 0 {
		return "", "", "has " + characterAt(host, i) + " of its host, where only letters, digits, \"-\", \"_\" and \".\" may stand"
	}
	return host, port, ""
}

func isHostByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

func validPort(p string) bool {
	n, ok := parseDecimal(p, 65535)
	return ok && n > 0 && p[0] != '0'
}

// isLoopbackHost reports whether host is localhost, in 127.0.0.0/8, or [::1].
func isLoopbackHost(host string) bool {
	switch host {
	case "localhost", "[::1]", "[0:0:0:0:0:0:0:1]":
		return true
	}
	if !hasPrefix(host, "127.") {
		return false
	}
	// Four decimal octets from 0 to 255, without leading zeros.
	octets := 0
	for start, i := 0, 0; i <= len(host); i++ {
		if i < len(host) && host[i] != '.' {
			continue
		}
		p := host[start:i]
		_, ok := parseDecimal(p, 255)
		if !ok || (len(p) > 1 && p[0] == '0') {
			return false
		}
		octets++
		start = i + 1
	}
	return octets == 4
}
