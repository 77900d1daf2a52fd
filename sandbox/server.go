package sandbox

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Default credentials of a sandbox whose Options leave them empty.
const (
	DefaultClientID     = "sandbox-client"
	DefaultClientSecret = "sandbox-secret"
)

// Paths the sandbox serves. The resource API answers under both prefixes.
const (
	tokenPath     = "/oauth/token"
	v2Prefix      = "/rest/v2"
	v3Prefix      = "/integrations/rest/v3"
	controlPrefix = "/__sandbox"
)

// Options configures a Server. The zero value gives Caspio's documented defaults.
type Options struct {
	// ClientID and ClientSecret are the only credentials the token endpoint accepts.
	// If empty, DefaultClientID and DefaultClientSecret are used.
	ClientID, ClientSecret string

	// TokenTTL is the lifetime of an access token on the sandbox clock.
	// If zero or negative, 86399s is used, as Caspio answers.
	TokenTTL time.Duration

	// RefreshTokenCap is how many live refresh tokens the account may hold; minting one
	// more evicts the oldest. If zero or negative, 1000 is used, as at Caspio.
	RefreshTokenCap int

	// RotateRefreshTokens makes a refresh_token grant mint and return a new refresh token
	// and retire the one sent. If false, the response has no refresh_token field and the
	// client keeps using its old one. Caspio does not document which it does.
	RotateRefreshTokens bool

	// Logger receives one line per request (method, path, status, duration), never a
	// header, body, query, secret or token. If nil, the sandbox logs nothing.
	Logger *log.Logger
}

// Stats counts what clients did, so that tests can assert, for example, that a client
// reused its refresh token instead of authenticating again.
type Stats struct {
	// TokenRequests counts POSTs to the token endpoint by grant_type as sent; unknown
	// grant types are counted too, a missing one under "(none)".
	TokenRequests        map[string]int `json:"token_requests"`
	RefreshTokensMinted  int            `json:"refresh_tokens_minted"`
	RefreshTokensLive    int            `json:"refresh_tokens_live"`
	RefreshTokensEvicted int            `json:"refresh_tokens_evicted"`
	AccessTokensMinted   int            `json:"access_tokens_minted"`
	ResourceRequests     int            `json:"resource_requests"`
	// Unauthorized counts resource requests answered 401.
	Unauthorized int `json:"unauthorized"`
}

// maxGrantTypeKeys bounds the distinct keys of Stats.TokenRequests, so that a client
// sending random grant types cannot grow it without limit.
const maxGrantTypeKeys = 64

// Server emulates one Caspio account: its token endpoint, its REST API (v2 and v3) and a
// control API for tests. It is safe for concurrent use.
type Server struct {
	opts Options

	// mu guards everything below. Handlers hold it only for in-memory work, never
	// while they wait (fault delays) or write a response.
	mu           sync.Mutex
	offset       time.Duration
	access       map[string]accessToken
	accessPrune  int // prune expired access tokens when the map reaches this size
	refresh      map[string]*refreshToken
	refreshOrder []string // refresh tokens in the order they were minted, oldest first
	stats        Stats
	faults       []Fault // queued; Count is what remains of each
	tables       map[string]*table
}

// New returns a sandbox with seeded demo data and no tokens.
func New(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 86399 * time.Second
	}
	if opts.RefreshTokenCap <= 0 {
		opts.RefreshTokenCap = 1000
	}
	s := &Server{opts: opts}
	s.resetLocked()
	return s
}

// resetLocked puts every piece of state back to how New left it.
func (s *Server) resetLocked() {
	s.offset = 0
	s.access = make(map[string]accessToken)
	s.accessPrune = 1024
	s.refresh = make(map[string]*refreshToken)
	s.refreshOrder = nil
	s.stats = Stats{TokenRequests: make(map[string]int)}
	s.faults = nil
	s.tables = seedTables()
}

// Now returns the sandbox clock: real time plus what Advance added.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time { return time.Now().Add(s.offset) }

// maxOffset keeps the clock offset far from time.Duration's overflow.
const maxOffset = 100 * 365 * 24 * time.Hour

// Advance moves the sandbox clock by d (negative moves it back), so that tests can expire
// tokens without waiting. The total offset is clamped to ±100 years.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case d > maxOffset-s.offset:
		s.offset = maxOffset
	case d < -maxOffset-s.offset:
		s.offset = -maxOffset
	default:
		s.offset += d
	}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.TokenRequests = make(map[string]int, len(s.stats.TokenRequests))
	for k, v := range s.stats.TokenRequests {
		st.TokenRequests[k] = v
	}
	st.RefreshTokensLive = s.liveRefreshLocked(s.nowLocked())
	return st
}

// Reset drops tokens, stats, faults and the clock offset, and restores the seeded data.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

// RevokeTokens revokes every access and refresh token, as an account admin can.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.access = make(map[string]accessToken)
	s.accessPrune = 1024
	s.refresh = make(map[string]*refreshToken)
	s.refreshOrder = nil
}

// ServeHTTP routes a request to the token endpoint, the resource API or the control API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.Logger != nil {
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		defer func() {
			// The path only: a query could hold a secret a client put in the wrong place.
			s.opts.Logger.Printf("%s %s %d %s", r.Method, sanitizeForLog(r.URL.Path), sw.statusOrDefault(), time.Since(start).Round(time.Microsecond))
		}()
		w = sw
	}
	setCORS(w, r)
	path := r.URL.Path
	switch {
	case path == controlPrefix || strings.HasPrefix(path, controlPrefix+"/"):
		s.serveControl(w, r)
	case path == tokenPath:
		s.serveToken(w, r)
	case hasPathPrefix(path, v2Prefix):
		s.serveResource(w, r, 2, path[len(v2Prefix):])
	case hasPathPrefix(path, v3Prefix):
		s.serveResource(w, r, 3, path[len(v3Prefix):])
	default:
		if r.Method != http.MethodOptions {
			if f, ok := s.takeFault(r); ok && s.applyFault(w, r, f, routeOther, "") {
				return
			}
		}
		writeCaspioError(w, http.StatusNotFound, "ObjectNotFound",
			"No route matches this path; the sandbox serves /oauth/token, /rest/v2/..., /integrations/rest/v3/... and /__sandbox/.",
			path, newRequestID())
	}
}

func hasPathPrefix(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// setCORS lets browser admin pages call the sandbox from any origin.
func setCORS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if origin := r.Header.Get("Origin"); origin != "" {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	} else {
		h.Set("Access-Control-Allow-Origin", "*")
	}
	h.Set("Access-Control-Expose-Headers", "X-Caspio-Request-ID, Retry-After, WWW-Authenticate, Location")
}

// preflight answers a CORS preflight (OPTIONS).
func preflight(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// newToken returns an opaque URL-safe token with 256 bits of entropy.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}

// newRequestID returns a random UUID (version 4), the shape of Caspio's request IDs.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only the sandbox's own values reach here; a failure is a sandbox bug.
		status, body = http.StatusInternalServerError, []byte(`{"error":"sandbox could not encode its response"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// sanitizeForLog keeps a log line on one line whatever the path holds.
func sanitizeForLog(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// statusWriter records the status for the request log. Unwrap keeps
// http.ResponseController (Hijack for dropped connections, Flush) working.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) statusOrDefault() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
