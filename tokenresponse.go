package caspio

import (
	"math"
)

// Response is what the host received for a Request: the status, a few headers, and the body
// decoded as JSON by the host's own decoder.
type Response struct {
	Status      int    // the HTTP status; 0 when no response arrived (see Err)
	ContentType string // the Content-Type header
	Body        any    // the decoded JSON body: map[string]any, []any, string, float64, bool or nil
	NotJSON     bool   // the body was empty or did not decode as JSON; Body is then ignored
	RetryAfter  string // the Retry-After header, if any
	Location    string // the Location header, if any
	// URL, for a send, is where the response came from when the platform followed redirects
	// itself (a browser's fetch: Response.redirected and Response.url); "" otherwise.
	URL string
	Err error // the transport error (connection refused, timeout) when Status is 0
}

// TokenResult is what HandleTokenResponse makes of a token response.
type TokenResult struct {
	// State is the state to keep and to store, whether or not the request succeeded: it
	// counts the request, and after a refused refresh it no longer holds that refresh token.
	State State
	// Err is why the request failed, or nil.
	Err error
	// Retry says that the failure can be overcome: Decide again after Wait, and perform what
	// it says. Without Retry, Err is final for this attempt to get a token.
	Retry bool
	Wait  Millis
}

// Retry policy for the token endpoint: 429, 5xx and lost responses are retried at most
// MaxTokenRetries times, after exponential backoff with jitter or the Retry-After the server
// asked for, if that is at most MaxRetryAfter.
const (
	MaxTokenRetries = 3
	MaxRetryAfter   = 30 * Second
	backoffBase     = 500
	backoffCap      = 8 * Second
)

// Token responses with expires_in above this are rejected: Caspio's tokens live a day, and a
// lifetime of years means the field is not what the client takes it for.
const maxExpiresIn = 366 * 24 * 3600

// HandleTokenResponse interprets resp, the answer to the TokenRequest made for action with
// state prev. attempt counts the failed attempts so far in this effort to get a token (0 at
// first), and jitter is a random number in [0, 1) from the host, which spreads the retries of
// many clients.
func (f *Settings) HandleTokenResponse(action Action, prev State, resp Response, now UnixMilli, attempt int, jitter float64) TokenResult {
	grant := GrantClientCredentials
	if action == Refresh && !prev.RefreshToken.IsZero() {
		grant = GrantRefreshToken
	}
	next := prev
	if !f.Owns(next) {
		// State of another client is replaced, counters and all.
		next = State{ClientID: f.clientID, TokenURL: f.tokenURL}
	}
	if grant == GrantRefreshToken {
		next.Counters.RefreshRequests++
	} else {
		next.Counters.ClientCredentialsRequests++
	}

	switch status := resp.Status; {
	case status == 0:
		err := &ResponseError{Problem: "no response from the token endpoint", Cause: resp.Err}
		return f.retry(next, err, resp, now, attempt, jitter)
	case status >= 300 && status < 400:
		problem := "the token endpoint redirected"
		location := ""
		if resp.Location != "" {
			location = shownRef(resp.Location)
			problem += " to " + quote(location)
		}
		problem += "; credentials are not sent on to another URL (set TokenURL to the endpoint itself)"
		return TokenResult{State: next, Err: &ResponseError{Status: status, Problem: problem, Location: location}}
	case status == 429 || status >= 500:
		return f.retry(next, f.errorFromBody(grant, prev, resp), resp, now, attempt, jitter)
	case status < 200 || status >= 300:
		err := f.errorFromBody(grant, prev, resp)
		if grant == GrantRefreshToken && refreshRefused(status, err) {
			// The refresh token expired, was revoked or was evicted from the account's pool:
			// log in again with the ID and secret.
			next.RefreshToken, next.RefreshIssuedAt, next.RefreshUsedAt = Secret{}, 0, 0
			next.AccessToken, next.ExpiresAt, next.ObtainedAt = Secret{}, 0, 0
			return TokenResult{State: next, Err: err, Retry: true}
		}
		return TokenResult{State: next, Err: err}
	}

	token, err := parseTokenResponse(resp)
	if err != nil {
		return TokenResult{State: next, Err: err}
	}
	next.AccessToken = NewSecret(token.accessToken)
	next.ObtainedAt = now
	next.ExpiresAt = now.Add(Millis(token.expiresIn) * Second)
	switch {
	case token.refreshToken != "" && token.refreshToken != prev.RefreshToken.Reveal():
		next.RefreshToken, next.RefreshIssuedAt, next.RefreshUsedAt = NewSecret(token.refreshToken), now, 0
	case grant == GrantRefreshToken:
		// Caspio does not document rotation: without a new refresh token, the one just used
		// stays valid, now counted as used.
		next.RefreshUsedAt = now
	case token.refreshToken == "":
		next.RefreshToken, next.RefreshIssuedAt, next.RefreshUsedAt = Secret{}, 0, 0
	}
	if grant == GrantRefreshToken {
		next.Counters.Refreshes++
	} else {
		next.Counters.Logins++
	}
	return TokenResult{State: next}
}

// refreshRefused reports whether a refresh failed because of the refresh token itself: 400
// invalid_grant, or 401 (Caspio's answer to an expired refresh token).
func refreshRefused(status int, err error) bool {
	if status == 401 {
		return true
	}
	oauth, ok := err.(*OAuthError)
	return ok && oauth.ErrorCode == "invalid_grant"
}

// retry decides whether a transient failure is retried, and when.
func (f *Settings) retry(next State, err error, resp Response, now UnixMilli, attempt int, jitter float64) TokenResult {
	attempt = max(attempt, 0)
	if attempt >= MaxTokenRetries {
		return TokenResult{State: next, Err: err}
	}
	if resp.RetryAfter != "" {
		if wait, ok := ParseRetryAfter(resp.RetryAfter, now); ok {
			if wait > MaxRetryAfter {
				return TokenResult{State: next, Err: err}
			}
			return TokenResult{State: next, Err: err, Retry: true, Wait: wait}
		}
	}
	if jitter < 0 || jitter >= 1 || math.IsNaN(jitter) {
		jitter = 0.5
	}
	backoff := min(backoffCap, Millis(backoffBase)<<min(attempt, 16))
	// Equal jitter: at least half the backoff, so retries never bunch up at zero.
	wait := backoff/2 + Millis(float64(backoff/2)*jitter)
	return TokenResult{State: next, Err: err, Retry: true, Wait: wait}
}

// ParseRetryAfter reads a Retry-After header, in delay-seconds or as an HTTP date
// (RFC 9110 section 10.2.3), and returns how long to wait from now. A date in the past
// gives zero.
func ParseRetryAfter(value string, now UnixMilli) (Millis, bool) {
	value = trimSpaceASCII(value)
	if value == "" {
		return 0, false
	}
	if n, ok := parseDecimal(value, 1<<31-1); ok {
		return Millis(n) * Second, true
	}
	at, ok := parseHTTPDate(value)
	if !ok {
		return 0, false
	}
	return max(0, at.Sub(now)), true
}

// tokenFields are the fields of a successful token response that the client uses.
type tokenFields struct {
	accessToken  string
	expiresIn    int64
	refreshToken string
}

func parseTokenResponse(resp Response) (tokenFields, error) {
	var t tokenFields
	bad := func(field, problem string) (tokenFields, error) {
		return tokenFields{}, &ResponseError{Status: resp.Status, Field: field, Problem: problem}
	}
	if resp.NotJSON {
		return bad("", "expected a JSON object, got a body that is not JSON"+contentTypeNote(resp.ContentType))
	}
	m, ok := resp.Body.(map[string]any)
	if !ok {
		return bad("", "expected a JSON object, got "+jsonKind(resp.Body))
	}

	switch v := m["access_token"].(type) {
	case string:
		if v == "" {
			return bad("access_token", "is empty; expected the access token")
		}
		if hasControl(v) || indexAnyByte(v, " \"") >= 0 {
			return bad("access_token", "contains white space, a quote or a control character, which cannot be sent in an Authorization header")
		}
		t.accessToken = v
	case nil:
		return bad("access_token", "is missing; expected the access token")
	default:
		return bad("access_token", "expected a string, got "+jsonKind(v))
	}

	switch v := m["token_type"].(type) {
	case string:
		if !equalFoldASCII(v, "bearer") {
			// Never shown, however short: a server may put a token in the wrong field.
			return bad("token_type", "expected \"bearer\", got "+aString(v))
		}
	case nil:
		return bad("token_type", "is missing; expected \"bearer\"")
	default:
		return bad("token_type", "expected \"bearer\", got "+jsonKind(v))
	}

	var seconds float64
	switch v := m["expires_in"].(type) {
	case float64:
		seconds = v
	case string:
		text, sign := trimSpaceASCII(v), 1.0
		if len(text) > 1 && (text[0] == '-' || text[0] == '+') {
			if text[0] == '-' {
				sign = -1
			}
			text = text[1:]
		}
		n, ok := parseDecimal(text, 1<<62)
		if !ok {
			return bad("expires_in", "expected a whole number of seconds, got "+aString(v))
		}
		seconds = sign * float64(n)
	case nil:
		return bad("expires_in", "is missing; expected the token's lifetime in seconds")
	default:
		return bad("expires_in", "expected a number of seconds, got "+jsonKind(v))
	}
	switch {
	case math.IsNaN(seconds) || seconds != math.Trunc(seconds):
		return bad("expires_in", "expected a whole number of seconds, got "+formatNumber(seconds))
	case seconds <= 0:
		return bad("expires_in", "expected a positive number of seconds, got "+formatNumber(seconds))
	case seconds > maxExpiresIn:
		return bad("expires_in", "expected at most "+itoa(maxExpiresIn)+" seconds, got "+formatNumber(seconds))
	}
	t.expiresIn = int64(seconds)

	switch v := m["refresh_token"].(type) {
	case string:
		if hasControl(v) {
			return bad("refresh_token", "contains a control character")
		}
		t.refreshToken = v
	case nil:
	default:
		return bad("refresh_token", "expected a string, got "+jsonKind(v))
	}
	return t, nil
}

// errorFromBody makes the error for a non-2xx token response to a request made with state
// prev: an *OAuthError when the body is an RFC 6749 error, an *APIError when it is
// Caspio-shaped, a *ResponseError otherwise. Their text is the server's, for people to read,
// with the client's credentials taken out should the server echo one.
func (f *Settings) errorFromBody(grant string, prev State, resp Response) error {
	if m, ok := resp.Body.(map[string]any); ok && !resp.NotJSON {
		scrub := f.scrubber(prev)
		if code, ok := m["error"].(string); ok && code != "" {
			e := &OAuthError{Status: resp.Status, Grant: grant, ErrorCode: scrub(code)}
			e.Description, _ = m["error_description"].(string)
			e.URI, _ = m["error_uri"].(string)
			e.Description, e.URI = scrub(e.Description), scrub(e.URI)
			return e
		}
		_, hasCode := m["Code"]
		_, hasMessage := m["Message"]
		if hasCode || hasMessage {
			e := NewAPIError(resp.Status, "", resp.Body)
			e.Code, e.Message, e.Resource, e.RequestID = scrub(e.Code), scrub(e.Message), scrub(e.Resource), scrub(e.RequestID)
			return e
		}
	}
	problem := "unexpected status " + itoa(resp.Status)
	if resp.NotJSON {
		problem += " with a body that is not JSON" + contentTypeNote(resp.ContentType)
	} else {
		problem += " without an OAuth error in the body"
	}
	return &ResponseError{Status: resp.Status, Problem: problem}
}

// aString describes a string from a response by its shape only: any of it might be a token.
func aString(v string) string {
	if v == "" {
		return "an empty string"
	}
	return "a string of " + describe(v)
}

// scrubber returns a function that replaces, in text a server wrote, the client secret, the
// Basic credentials and the tokens of prev with [redacted].
func (f *Settings) scrubber(prev State) func(string) string {
	var secrets []string
	for _, s := range []string{f.clientSecret.Reveal(), f.basicAuthorization()[len("Basic "):], prev.AccessToken.Reveal(), prev.RefreshToken.Reveal()} {
		if s != "" {
			secrets = append(secrets, s)
		}
	}
	return func(text string) string {
		for _, s := range secrets {
			text = replaceAll(text, s, redacted)
		}
		return text
	}
}

// contentTypeNote shows the media type of a response, when it is one: a type/subtype of
// RFC 9110 token characters.
func contentTypeNote(ct string) string {
	if i := indexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	if ct = trimSpaceASCII(ct); ct == "" {
		return ""
	}
	typ, sub, ok := cut(ct, "/")
	if !ok || len(ct) > 100 || !isToken(typ) || !isToken(sub) {
		return " (an unusual Content-Type of " + describe(ct) + ")"
	}
	return " (Content-Type " + ct + ")"
}

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool {
	return s != "" && indexAny(s, func(c byte) bool {
		return !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || indexByte("!#$%&'*+-.^_`|~", c) >= 0)
	}) < 0
}

// replaceAll is strings.ReplaceAll for an old that is not empty. (strings.Replace, which
// also handles an empty old and counts the matches first, adds about 5 KB to the
// WebAssembly build.)
func replaceAll(s, old, new string) string {
	var b []byte
	for {
		i := index(s, old)
		if i < 0 {
			break
		}
		b = append(append(b, s[:i]...), new...)
		s = s[i+len(old):]
	}
	if b == nil {
		return s
	}
	return string(append(b, s...))
}
