package caspio

// The resource request of a Fetch conversation: send with a lease, after a 401 once more
// with a fresh token, and follow redirects with the bearer token only on the REST base.

func (c *Conversation) startFetch(now UnixMilli) Step {
	switch c.req.Redirect {
	case "":
		c.req.Redirect = FollowRedirects
	case FollowRedirects, ManualRedirects, RefuseRedirects:
	default:
		return c.fail(&StepError{Problem: `ResourceRequest.Redirect is none of "follow", "manual" and "error"`})
	}
	c.method = c.req.Method
	if c.method == "" {
		c.method = "GET"
	}
	url, err := c.m.settings.ResolveURL(c.req.Ref)
	if err != nil {
		return c.fail(err)
	}
	c.url, c.keepBody, c.want = url, true, modeToken
	c.m.resolved(c.req.Ref, url)
	if !c.req.Authorization.IsZero() {
		return c.send(c.req.Authorization.Reveal())
	}
	return c.begin(now)
}

// resend sends the request again after a wait: with the token valid now on the REST base,
// and without one where a redirect led off it.
func (c *Conversation) resend(now UnixMilli) Step {
	if c.sent == "" {
		return c.send("")
	}
	return c.begin(now)
}

// send asks for the request to be sent to c.url with authorization ("" for none).
func (c *Conversation) send(authorization string) Step {
	c.sent = authorization
	return Step{Kind: StepSend, KeepBody: c.keepBody, Hops: c.hops, Request: Request{
		Method: c.method, URL: c.url, Authorization: NewSecret(authorization),
	}}
}

// BodyHeaders are the headers that describe a request's body, in canonical form: a send step
// without the body (KeepBody false, after a redirect made the request a GET) sends none of
// them. They are fetch's request-body-header names and Content-Length, so that every driver
// drops what a browser's fetch drops.
var BodyHeaders = []string{"Content-Encoding", "Content-Language", "Content-Location", "Content-Type", "Content-Length"}

// IsBodyHeader reports whether name (in any case) is one of BodyHeaders.
func IsBodyHeader(name string) bool {
	for _, h := range BodyHeaders {
		if equalFoldASCII(name, h) {
			return true
		}
	}
	return false
}

// response decides what a resource response leads to.
func (c *Conversation) response(resp Response, now UnixMilli, jitter float64) Step {
	m := c.m
	switch {
	case resp.Status == 0:
	case resp.Status == 401 && c.sent != "" && resp.URL != "" && !m.settings.onRestBase(resp.URL):
		// The platform followed a redirect off the REST base, where the token does not go:
		// this 401 is no verdict on the token, and is handed back as it is.
		return Step{Kind: StepDone}
	case resp.Status == 401 && c.sent != "":
		if m.unauthorized(c.sent) {
			c.event(Event{Kind: EventRevoked})
		}
		if c.retried || (c.req.OneShot && c.keepBody) {
			return Step{Kind: StepDone} // the body is spent, or this was the retry: the 401 as is
		}
		c.retried = true
		m.retries++
		return c.begin(now) // a newer token in memory, the acquisition in flight, or a new one
	case isRedirect(resp.Status) && resp.Location != "" && c.req.Redirect != ManualRedirects:
		return c.redirect(resp, now)
	}
	if wait, ok := c.retryAfterFailure(resp, now, jitter); ok {
		c.resends++
		c.event(Event{Kind: EventResourceRetry, Attempt: c.resends, Status: resp.Status, Wait: wait, Err: resp.Err})
		return Step{Kind: StepWait, Wait: wait}
	}
	if resp.Status == 0 {
		if resp.Err == nil {
			return c.fail(hostError("caspio: no response to the resource request"))
		}
		return c.fail(resp.Err)
	}
	return Step{Kind: StepDone}
}

// MaxResourceRetries bounds the times one resource request is sent again after a failure
// that may pass (see ResourceRequest.NoRetry).
const MaxResourceRetries = 3

// retryAfterFailure decides whether the answer resp (or its absence) is a failure to send
// the request again after, and how long to wait first. Only a request whose method does
// nothing twice (GET, HEAD, OPTIONS, PUT, DELETE) is sent again, after a 429, a 5xx but 501
// and 505, or no answer; never a POST, which may have inserted a record, nor a PATCH. The
// wait is the Retry-After asked for, when it is at most MaxRetryAfter (a longer one is
// handed back), or the token requests' backoff.
func (c *Conversation) retryAfterFailure(resp Response, now UnixMilli, jitter float64) (Millis, bool) {
	if c.req.NoRetry || c.resends >= MaxResourceRetries || c.req.OneShot && c.keepBody {
		return 0, false
	}
	idempotent := false
	switch lowerASCII(c.method) {
	case "get", "head", "options", "put", "delete":
		idempotent = true
	}
	switch s := resp.Status; {
	case !idempotent:
		return 0, false
	case s == 0, s == 429, s >= 500 && s != 501 && s != 505:
	default:
		return 0, false
	}
	r := c.m.settings.retry(State{}, nil, resp, now, c.resends, jitter)
	return r.Wait, r.Retry
}

func isRedirect(status int) bool {
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308
}

// redirect follows a redirect as fetch does, with the bearer token only when the target is
// on the REST base.
func (c *Conversation) redirect(resp Response, now UnixMilli) Step {
	refuse := func(problem string) Step {
		return c.fail(&RedirectError{Status: resp.Status, Location: shownRef(resp.Location), Problem: problem})
	}
	if c.req.Redirect == RefuseRedirects {
		return refuse(`the request's redirect mode is "error"`)
	}
	if c.hops >= maxRedirects {
		return refuse("stopped after 10 redirects")
	}
	if err := CheckLocation(resp.Location); err != nil {
		return c.fail(err)
	}
	target, ok := resolveReference(c.url, resp.Location)
	if !ok {
		// Not shown even in part: what a parser makes of it is not clear (its "port" may be
		// a password, say).
		return c.fail(&URLError{Problem: "is a redirect to a URL that cannot be read; it is not followed"})
	}
	// Fetch's rules: 303 makes any request but HEAD a GET, 301 and 302 make a POST one;
	// 307 and 308 keep the method and the body, which must then be sent again.
	if resp.Status == 303 && !equalFoldASCII(c.method, "HEAD") || (resp.Status == 301 || resp.Status == 302) && equalFoldASCII(c.method, "POST") {
		c.method, c.keepBody = "GET", false
	} else if c.keepBody && c.req.OneShot {
		return Step{Kind: StepDone} // the body is spent: the redirect as is
	}
	c.hops++
	if url, err := c.m.settings.ResolveURL(target); err == nil {
		c.url = url
		return c.begin(now) // back on the REST base: with a token, valid now
	}
	c.url = target
	return c.send("") // off the REST base: never with the bearer token
}

// onRestBase reports whether the absolute URL u is on the REST base: where the bearer token
// goes, and a 401 is about the token.
func (f *Settings) onRestBase(u string) bool {
	_, err := f.ResolveURL(u)
	return err == nil
}

// resolveReference resolves the reference ref (a redirect's Location, which CheckLocation
// accepted) against the absolute http(s) URL base, as RFC 3986 section 5.2 does: the
// fragment is dropped, dot segments removed, and characters that may not stand in a URL
// percent-encoded. It reports false when the result has no usable host.
func resolveReference(base, ref string) (string, bool) {
	// As URL parsers do: tabs and line breaks are dropped, surrounding spaces trimmed.
	ref = trimSpaceASCII(dropTabsAndNewlines(ref))
	if i := indexByte(ref, '#'); i >= 0 {
		ref = ref[:i]
	}
	if indexByte(ref, '\\') >= 0 || hasControl(ref) {
		return "", false // browsers read "\" as "/": what it means is not clear
	}
	bScheme, bRest, _ := cut(base, "://")
	bAuthority, bPath, bQuery, bHasQuery := splitHierarchy(bRest)

	var scheme, authority, path, query string
	var hasQuery bool
	switch n := schemeEnd(ref); {
	case n > 0:
		if !hasPrefix(ref[n:], "//") {
			return "", false
		}
		scheme = lowerASCII(ref[:n-1])
		authority, path, query, hasQuery = splitHierarchy(ref[n+2:])
	case hasPrefix(ref, "//"):
		scheme = bScheme
		authority, path, query, hasQuery = splitHierarchy(ref[2:])
	default:
		scheme, authority = bScheme, bAuthority
		p, q, hasQ := cut(ref, "?")
		switch {
		case p == "":
			path, query, hasQuery = bPath, bQuery, bHasQuery
			if hasQ {
				query, hasQuery = q, true
			}
		case p[0] == '/':
			path, query, hasQuery = p, q, hasQ
		default:
			path, query, hasQuery = bPath[:lastIndexByte(bPath, '/')+1]+p, q, hasQ
		}
	}
	if authority == "" || !onlyBytes(authority, authorityBytes) {
		return "", false
	}
	if _, _, problem := splitHostPort(authority); problem != "" {
		return "", false // "host:1:2", a port that is no number: no platform would send it
	}
	var b builder
	b.WriteString(scheme + "://" + authority)
	escapeLoose(&b, removeDotSegments(path), false)
	if hasQuery {
		b.WriteByte('?')
		escapeLoose(&b, query, true)
	}
	return b.String(), true
}

// splitHierarchy splits "authority/path?query"; an empty path is "/".
func splitHierarchy(s string) (authority, path, query string, hasQuery bool) {
	s, query, hasQuery = cut(s, "?")
	authority, path = s, "/"
	if i := indexByte(s, '/'); i >= 0 {
		authority, path = s[:i], s[i:]
	}
	return authority, path, query, hasQuery
}

// authorityBytes are those a host[:port] may hold, IPv6 literals included.
const authorityBytes = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:[]"

// removeDotSegments removes "." and ".." segments (literal or percent-encoded) from an
// absolute path, as RFC 3986 section 5.2.4 does.
func removeDotSegments(path string) string {
	var out []string
	_, rest, more := cut(path, "/") // the segments after the first "/"
	for more {
		var seg string
		seg, rest, more = cut(rest, "/")
		last := !more
		switch dotSegment(seg) {
		case 1:
		case 2:
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
			continue
		}
		if last {
			out = append(out, "") // "/a/.." is "/a/"
		}
	}
	if len(out) == 0 {
		return "/"
	}
	b := make([]byte, 0, len(path)) // strings.Split and Join would add about 5 KB to the WebAssembly build
	for _, seg := range out {
		b = append(append(b, '/'), seg...)
	}
	return string(b)
}

// Final reports whether a response of this status, to a request sent with a lease, is the
// answer to hand back without asking the machine: the hot path's test, in every driver (the
// JS one reads it as a table, wasm's finalStatuses). A 401, a redirect the machine follows
// (301, 302, 303, 307, 308), a 429 and a 5xx are not: the machine decides whether to
// refresh, follow or send again (ResourceRequest.Authorization says how to hand it such a
// response). Status 0 (no answer) is not final either. Another 3xx (300, 304) is final: the
// machine would hand it back as it is.
func Final(status int) bool {
	return status != 0 && status != 401 && !isRedirect(status) && status != 429 && status < 500
}
