package sandbox

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Refresh token lifetimes, from Caspio's documentation: a token never used lapses after
// 60 days, one used at least once after a year, both counted from when it was issued.
const (
	unusedRefreshLifetime = 60 * 24 * time.Hour
	usedRefreshLifetime   = 365 * 24 * time.Hour
)

// maxTokenBody bounds a token request body; real ones are a few hundred bytes.
const maxTokenBody = 64 << 10

type accessToken struct {
	clientID string
	expires  time.Time
}

type refreshToken struct {
	clientID string
	issued   time.Time
	used     bool
}

func (t *refreshToken) expires() time.Time {
	if t.used {
		return t.issued.Add(usedRefreshLifetime)
	}
	return t.issued.Add(unusedRefreshLifetime)
}

// oauthError is an RFC 6749 section 5.2 error response.
type oauthError struct {
	status      int
	code        string
	description string
	basic       bool // the client used Basic: add a WWW-Authenticate challenge to a 401
}

func (e *oauthError) write(w http.ResponseWriter) {
	if e.status == http.StatusUnauthorized && e.basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="caspio"`)
	}
	writeOAuthError(w, e.status, e.code, e.description)
}

func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	body, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{code, description})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func badRequest(description string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_request", description: description}
}

// serveToken is POST /oauth/token.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		preflight(w)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "the token endpoint accepts only POST")
		return
	}
	// The form is read before any fault applies, so that a faulted request is still
	// counted under its grant_type.
	form, formErr := readTokenForm(w, r)
	grant := "(none)"
	if formErr == nil && form.Get("grant_type") != "" {
		grant = form.Get("grant_type")
	}
	s.countTokenRequest(grant)
	if f, ok := s.takeFault(r); ok && s.applyFault(w, r, f, routeToken, "") {
		return
	}
	if formErr != nil {
		formErr.write(w)
		return
	}
	if e := s.grant(w, r, form); e != nil {
		e.write(w)
	}
}

func (s *Server) countTokenRequest(grant string) {
	if len(grant) > 64 {
		grant = grant[:64]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, known := s.stats.TokenRequests[grant]; !known && len(s.stats.TokenRequests) >= maxGrantTypeKeys {
		grant = "(other)"
	}
	s.stats.TokenRequests[grant]++
}

// readTokenForm reads the body as a form, strictly: the right media type, parameters at
// most once each (RFC 6749 section 3.2), valid percent-encoding.
func readTokenForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, badRequest("Content-Type must be application/x-www-form-urlencoded; send the parameters as a form body")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTokenBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, badRequest(fmt.Sprintf("the request body is larger than %d bytes", maxTokenBody))
		}
		return nil, badRequest("the request body could not be read")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, badRequest("the body is not a valid form: check the percent-encoding of each value")
	}
	for name, values := range form {
		if len(values) > 1 {
			return nil, badRequest(fmt.Sprintf("parameter %q is sent more than once; send it once", truncate(name, 40)))
		}
	}
	return form, nil
}

// grant answers a well-formed token request, or returns the error to send.
func (s *Server) grant(w http.ResponseWriter, r *http.Request, form url.Values) *oauthError {
	grantType := form.Get("grant_type")
	switch grantType {
	case "":
		return badRequest("missing grant_type: send grant_type=client_credentials or grant_type=refresh_token")
	case "client_credentials", "refresh_token":
	default:
		return &oauthError{status: http.StatusBadRequest, code: "unsupported_grant_type",
			description: "grant_type must be client_credentials or refresh_token"}
	}
	client, e := s.authenticateClient(r, form)
	if e != nil {
		return e
	}
	if grantType == "client_credentials" {
		s.mu.Lock()
		now := s.nowLocked()
		access := s.mintAccessLocked(client, now)
		refresh := s.mintRefreshLocked(client, now)
		s.mu.Unlock()
		s.writeTokenResponse(w, access, refresh)
		return nil
	}

	rt := form.Get("refresh_token")
	if rt == "" {
		return badRequest("missing refresh_token: send the refresh token from an earlier token response")
	}
	s.mu.Lock()
	now := s.nowLocked()
	tok, ok := s.refresh[rt]
	if !ok || tok.clientID != client {
		s.mu.Unlock()
		return &oauthError{status: http.StatusBadRequest, code: "invalid_grant",
			description: "the refresh token is unknown, revoked or evicted: authenticate again with client_credentials"}
	}
	if !now.Before(tok.expires()) {
		s.removeRefreshLocked(rt)
		s.mu.Unlock()
		// Caspio answers 401, not 400, for an expired refresh token.
		return &oauthError{status: http.StatusUnauthorized, code: "invalid_grant",
			description: "the refresh token has expired: authenticate again with client_credentials"}
	}
	tok.used = true
	access := s.mintAccessLocked(client, now)
	newRefresh := ""
	if s.opts.RotateRefreshTokens {
		s.removeRefreshLocked(rt)
		newRefresh = s.mintRefreshLocked(client, now)
	}
	s.mu.Unlock()
	s.writeTokenResponse(w, access, newRefresh)
	return nil
}

func (s *Server) writeTokenResponse(w http.ResponseWriter, access, refresh string) {
	resp := struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int64  `json:"expires_in"`
		RefreshToken string `json:"refresh_token,omitempty"`
	}{access, "bearer", int64(s.opts.TokenTTL / time.Second), refresh}
	body, _ := json.Marshal(resp)
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// authenticateClient checks the client credentials, from the Basic header if there is one
// and from the body otherwise, and returns the client ID.
func (s *Server) authenticateClient(r *http.Request, form url.Values) (string, *oauthError) {
	id, secret, basic := form.Get("client_id"), form.Get("client_secret"), false
	switch headers := r.Header.Values("Authorization"); len(headers) {
	case 0:
		if id == "" || secret == "" {
			return "", badRequest("missing client credentials: send client_id and client_secret in the body, or an Authorization: Basic base64(client_id:client_secret) header")
		}
	case 1:
		hid, hsecret, e := parseBasic(headers[0])
		if e != nil {
			return "", e
		}
		if (id != "" && id != hid) || (secret != "" && secret != hsecret) {
			return "", badRequest("the client credentials in the Authorization header and in the body disagree; send them in one place")
		}
		id, secret, basic = hid, hsecret, true
	default:
		return "", badRequest("more than one Authorization header; send one")
	}
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.opts.ClientID)) == 1
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) == 1
	if !idOK || !secretOK {
		return "", &oauthError{status: http.StatusUnauthorized, code: "invalid_client", basic: basic,
			description: "client authentication failed: check the client ID and secret of the integration"}
	}
	return id, nil
}

// parseBasic decodes "Basic base64(id:secret)" strictly: standard alphabet with padding,
// on one line. Go's base64 decoder skips CR and LF, so line breaks are refused first.
func parseBasic(header string) (id, secret string, _ *oauthError) {
	fail := func(why string) (string, string, *oauthError) {
		return "", "", &oauthError{status: http.StatusUnauthorized, code: "invalid_client", basic: true, description: why}
	}
	scheme, value, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return fail("the Authorization header must be Basic base64(client_id:client_secret)")
	}
	value = strings.TrimSpace(value)
	if strings.ContainsAny(value, " \t\r\n") {
		return fail("the Basic credentials contain whitespace or a line break: base64-encode client_id:client_secret on one line, without MIME line breaks")
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(value)
	if err != nil {
		return fail("the Basic credentials are not valid standard base64 (with padding)")
	}
	id, secret, ok = strings.Cut(string(raw), ":")
	if !ok {
		return fail("the Basic credentials must be client_id:client_secret, with a colon")
	}
	return id, secret, nil
}

func (s *Server) mintAccessLocked(client string, now time.Time) string {
	if len(s.access) >= s.accessPrune {
		for tok, a := range s.access {
			if !now.Before(a.expires) {
				delete(s.access, tok)
			}
		}
		s.accessPrune = 2*len(s.access) + 1024
	}
	tok := newToken()
	s.access[tok] = accessToken{clientID: client, expires: now.Add(s.opts.TokenTTL)}
	s.stats.AccessTokensMinted++
	return tok
}

// mintRefreshLocked mints a refresh token, making room within the cap: expired tokens go
// first (they are dead anyway), then the oldest live one, as Caspio silently does.
func (s *Server) mintRefreshLocked(client string, now time.Time) string {
	if len(s.refresh) >= s.opts.RefreshTokenCap {
		kept := s.refreshOrder[:0]
		for _, tok := range s.refreshOrder {
			if now.Before(s.refresh[tok].expires()) {
				kept = append(kept, tok)
			} else {
				delete(s.refresh, tok)
			}
		}
		s.refreshOrder = kept
	}
	for len(s.refresh) >= s.opts.RefreshTokenCap && len(s.refreshOrder) > 0 {
		oldest := s.refreshOrder[0]
		s.refreshOrder = s.refreshOrder[1:]
		delete(s.refresh, oldest)
		s.stats.RefreshTokensEvicted++
	}
	tok := newToken()
	s.refresh[tok] = &refreshToken{clientID: client, issued: now}
	s.refreshOrder = append(s.refreshOrder, tok)
	s.stats.RefreshTokensMinted++
	return tok
}

func (s *Server) removeRefreshLocked(tok string) {
	delete(s.refresh, tok)
	for i, t := range s.refreshOrder {
		if t == tok {
			s.refreshOrder = append(s.refreshOrder[:i], s.refreshOrder[i+1:]...)
			return
		}
	}
}

func (s *Server) liveRefreshLocked(now time.Time) int {
	n := 0
	for _, t := range s.refresh {
		if now.Before(t.expires()) {
			n++
		}
	}
	return n
}

// validAccessToken reports whether tok is a live access token.
func (s *Server) validAccessToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.access[tok]
	return ok && s.nowLocked().Before(a.expires)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
