package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
)

// The proxy's limits.
const (
	defaultPrefix = "/caspio"
	maxBody       = 8 << 20          // bytes of a request body forwarded to Caspio
	upstreamLimit = 30 * time.Second // for one proxied request, token requests included
	preflightAge  = "600"
)

// allowedRequestHeaders are the only caller headers forwarded to Caspio, and those a
// preflight allows.
var allowedRequestHeaders = []string{"Content-Type", "Accept"}

// passedResponseHeaders are the only Caspio response headers passed back to the caller.
var passedResponseHeaders = []string{"Content-Type", "X-Caspio-Request-ID", "Retry-After"}

// proxyConfig is the proxy's configuration, read from the Worker's environment.
type proxyConfig struct {
	caspio  caspio.Config
	prefix  string          // "" for the root, else "/name" without a trailing slash
	keys    [][]byte        // PROXY_KEYS
	origins map[string]bool // PROXY_ORIGINS, as browsers serialise them
	rules   []rule          // PROXY_ALLOW
	methods string          // the methods of the rules, for preflights
	flow    *caspio.Flow    // the checked caspio Config
}

// configError names the variable at fault, never the value of a secret.
type configError struct {
	variable, problem string
}

func (e *configError) Error() string { return e.variable + " " + e.problem }

// caspioVariables maps the fields of caspio.Config to the variables that set them.
var caspioVariables = map[string]string{
	"Account":        "CASPIO_ACCOUNT",
	"IntegrationURL": "CASPIO_INTEGRATION_URL",
	"TokenURL":       "CASPIO_TOKEN_URL",
	"ResourceURL":    "CASPIO_RESOURCE_URL",
	"APIVersion":     "CASPIO_API_VERSION",
	"ClientID":       "CASPIO_CLIENT_ID",
	"ClientSecret":   "CASPIO_CLIENT_SECRET",
}

// loadConfig reads the configuration from getenv (the Worker's vars and secrets).
func loadConfig(getenv func(string) string) (*proxyConfig, error) {
	cfg := &proxyConfig{caspio: caspio.Config{
		Account:        strings.TrimSpace(getenv("CASPIO_ACCOUNT")),
		IntegrationURL: strings.TrimSpace(getenv("CASPIO_INTEGRATION_URL")),
		TokenURL:       strings.TrimSpace(getenv("CASPIO_TOKEN_URL")),
		ResourceURL:    strings.TrimSpace(getenv("CASPIO_RESOURCE_URL")),
		APIVersion:     strings.TrimSpace(getenv("CASPIO_API_VERSION")),
		ClientID:       strings.TrimSpace(getenv("CASPIO_CLIENT_ID")),
		ClientSecret:   caspio.NewSecret(strings.TrimSpace(getenv("CASPIO_CLIENT_SECRET"))),
	}}
	flow, err := caspio.NewFlow(cfg.caspio)
	if err != nil {
		var ce *caspio.ConfigError
		if errors.As(err, &ce) {
			variable := caspioVariables[ce.Field]
			if variable == "" {
				variable = "CASPIO_" + strings.ToUpper(ce.Field)
			}
			return nil, &configError{variable, ce.Problem}
		}
		return nil, &configError{"CASPIO_ACCOUNT", "is not a usable Caspio configuration"}
	}
	cfg.flow = flow

	prefix, err := parsePrefix(getenv("PROXY_PREFIX"))
	if err != nil {
		return nil, err
	}
	cfg.prefix = prefix

	for _, key := range splitList(getenv("PROXY_KEYS")) {
		cfg.keys = append(cfg.keys, []byte(key))
	}
	cfg.origins = map[string]bool{}
	for _, o := range splitList(getenv("PROXY_ORIGINS")) {
		origin, ok := parseOrigin(o)
		if !ok {
			return nil, &configError{"PROXY_ORIGINS", "has " + strconv.Quote(o) + ", which is not an origin such as https://app.example.com (scheme and host, no path)"}
		}
		cfg.origins[origin] = true
	}
	if len(cfg.keys) == 0 && len(cfg.origins) == 0 {
		return nil, &configError{"PROXY_KEYS", "is empty and so is PROXY_ORIGINS: no caller could authenticate; set a shared key (a secret) or the browser origins to allow"}
	}

	seen := map[string]bool{}
	var methods []string
	for _, text := range splitList(getenv("PROXY_ALLOW")) {
		r, err := parseRule(text)
		if err != nil {
			return nil, err
		}
		cfg.rules = append(cfg.rules, r)
		if !seen[r.method] {
			seen[r.method] = true
			methods = append(methods, r.method)
		}
	}
	if len(cfg.rules) == 0 {
		return nil, &configError{"PROXY_ALLOW", "is empty: no request would be allowed; list rules such as \"GET /tables/Orders/records\""}
	}
	cfg.methods = strings.Join(methods, ", ")
	return cfg, nil
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func parsePrefix(raw string) (string, error) {
	p := strings.TrimSpace(raw)
	if p == "" {
		return defaultPrefix, nil
	}
	bad := func() (string, error) {
		return "", &configError{"PROXY_PREFIX", "is " + strconv.Quote(raw) + "; give a path such as /caspio (or / for the root)"}
	}
	if !strings.HasPrefix(p, "/") {
		return bad()
	}
	p = strings.TrimRight(p, "/")
	if p == "" {
		return "", nil
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "%\\?#@ ") {
			return bad()
		}
	}
	return p, nil
}

// parseOrigin returns an origin as a browser's Origin header serialises it.
func parseOrigin(s string) (string, bool) {
	s = strings.ToLower(strings.TrimRight(s, "/"))
	scheme, host, ok := strings.Cut(s, "://")
	if !ok || (scheme != "https" && scheme != "http") || host == "" || strings.ContainsAny(host, "/?#@\\ *") {
		return "", false
	}
	if h, port, hasPort := strings.Cut(host, ":"); hasPort && !strings.HasPrefix(host, "[") {
		n, err := strconv.Atoi(port)
		if h == "" || err != nil || n < 1 || n > 65535 {
			return "", false
		}
		if (scheme == "https" && n == 443) || (scheme == "http" && n == 80) {
			host = h // browsers omit the default port
		}
	}
	return scheme + "://" + host, true
}

// rule is one PROXY_ALLOW entry: a method and a path pattern whose segments are literal,
// "*" (any one segment) or, last, "**" (the rest of the path, zero or more segments).
type rule struct {
	method   string
	segments []string
}

func parseRule(text string) (rule, error) {
	fields := strings.Fields(text)
	bad := func(problem string) (rule, error) {
		return rule{}, &configError{"PROXY_ALLOW", "rule " + strconv.Quote(text) + " " + problem}
	}
	if len(fields) != 2 {
		return bad(`is not "METHOD /path/pattern"`)
	}
	method := strings.ToUpper(fields[0])
	if method == "" || strings.Trim(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" || method == "OPTIONS" {
		return bad("has no valid method (GET, POST, PUT, DELETE, ...)")
	}
	pattern := fields[1]
	if !strings.HasPrefix(pattern, "/") || pattern == "/" {
		return bad("has a pattern that does not start with / and name a path")
	}
	segments := strings.Split(pattern[1:], "/")
	for i, seg := range segments {
		switch {
		case seg == "" || seg == "." || seg == "..":
			return bad("has an empty or dot segment")
		case seg == "**" && i != len(segments)-1:
			return bad("has ** before its last segment")
		case seg != "*" && seg != "**" && strings.Contains(seg, "*"):
			return bad("has * inside a segment; * and ** stand for whole segments")
		case strings.ContainsAny(seg, "%\\?#@"):
			return bad("has %, \\, ?, # or @ in its pattern")
		}
	}
	return rule{method: method, segments: segments}, nil
}

// matches reports whether the rule allows method on path ("/tables/Orders/records").
func (r rule) matches(method, path string) bool {
	if method != r.method {
		return false
	}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, want := range r.segments {
		if want == "**" {
			return true
		}
		if i >= len(segs) {
			return false
		}
		if want != "*" && want != segs[i] {
			return false
		}
	}
	return len(segs) == len(r.segments)
}

func (c *proxyConfig) allowed(method, path string) bool {
	for _, r := range c.rules {
		if r.matches(method, path) {
			return true
		}
	}
	return false
}

// keyValid compares key with every configured key in constant time.
func (c *proxyConfig) keyValid(key string) bool {
	if key == "" {
		return false
	}
	ok := 0
	for _, k := range c.keys {
		ok |= subtle.ConstantTimeCompare([]byte(key), k)
	}
	return ok == 1
}

// badPath says why a request path (after the prefix, still percent-encoded) could smuggle a
// request somewhere else, or "" when it is a plain path. It runs before the rules match.
func badPath(p string) string {
	lower := strings.ToLower(p)
	switch {
	case strings.Contains(p, "\\"):
		return "has a backslash"
	case strings.Contains(lower, "%2e") || strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c"):
		return "has a percent-encoded '.', '/' or '\\'"
	case strings.Contains(p, "@") || strings.Contains(lower, "%40") || strings.Contains(p, "://"):
		return "has '@' or '://'"
	case hasControl(lower):
		return "has a control character"
	}
	for _, seg := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		switch seg {
		case "":
			return "has an empty segment"
		case ".", "..":
			return "has a '.' or '..' segment"
		}
	}
	return ""
}

// hasControl reports a control character, raw or percent-encoded.
func hasControl(lower string) bool {
	for i := 0; i < len(lower); i++ {
		if c := lower[i]; c < 0x20 || c == 0x7f {
			return true
		}
		if lower[i] == '%' && i+2 < len(lower) && (lower[i+1] == '0' || lower[i+1] == '1' || lower[i+1:i+3] == "7f") {
			return true
		}
	}
	return false
}

// proxy is the Worker's handler.
type proxy struct {
	cfg     *proxyConfig
	err     error // the configuration error, if any: every request gets 500
	http    *http.Client
	log     *log.Logger
	timeout time.Duration
}

// deps is what the runtime provides: the transport and the token store.
type deps struct {
	HTTPClient *http.Client
	// Store returns the token store for a client ID.
	Store  func(clientID string) (client.Store, error)
	Logger *log.Logger
	Now    func() time.Time // if nil, time.Now
}

// newProxy reads the configuration and builds the handler. A bad configuration gives a
// handler that answers every request with 500 proxy_misconfigured.
func newProxy(getenv func(string) string, d deps) http.Handler {
	p := &proxy{log: d.Logger, timeout: upstreamLimit}
	if p.log == nil {
		p.log = log.New(io.Discard, "", 0)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		p.err = err
		return p
	}
	p.cfg = cfg
	store, err := d.Store(cfg.caspio.ClientID)
	if err != nil {
		p.err = &configError{"CASPIO_BROKER or CASPIO_TOKENS", "(the binding for the token state: a TokenBroker Durable Object, or a KV namespace) is unusable: " + err.Error()}
		return p
	}
	c, err := client.New(cfg.caspio, client.Options{
		HTTPClient: d.HTTPClient,
		Store:      store,
		Now:        d.Now,
		OnEvent: func(e client.Event) {
			// Events carry no secret; their errors are written to be logged.
			if e.Err != nil {
				p.log.Printf("caspio token event %s (%s, attempt %d, status %d): %v", e.Kind, e.Grant, e.Attempt, e.Status, e.Err)
			} else if e.Kind != client.EventTokenRequest {
				p.log.Printf("caspio token event %s (%s)", e.Kind, e.Grant)
			}
		},
	})
	if err != nil {
		p.err = &configError{"CASPIO_ACCOUNT", "is not a usable Caspio configuration"}
		return p
	}
	// Redirects are passed back as they are: the proxy forwards to the resource origin only.
	p.http = c.HTTPClient()
	p.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return p
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	status, route := p.serve(w, r)
	// The method, the route class and the status: never a header, a query or a body.
	p.log.Printf("%s %s %d %s", r.Method, route, status, time.Since(start).Round(time.Millisecond))
}

// serve answers r and returns the status and what to log of the path.
func (p *proxy) serve(w http.ResponseWriter, r *http.Request) (int, string) {
	if p.err != nil {
		var ce *configError
		msg := "the proxy is misconfigured"
		if errors.As(p.err, &ce) {
			msg = ce.Error()
		}
		p.log.Printf("proxy misconfigured: %s", msg)
		return writeError(w, http.StatusInternalServerError, "proxy_misconfigured", msg), "-"
	}
	cfg := p.cfg
	if r.URL.Opaque != "" || r.URL.User != nil {
		return writeError(w, http.StatusBadRequest, "bad_path", "the request target is not a plain path"), "-"
	}
	raw := r.URL.EscapedPath()
	if raw != cfg.prefix && !strings.HasPrefix(raw, cfg.prefix+"/") {
		return writeError(w, http.StatusNotFound, "not_found", "this proxy serves paths under "+prefixOrRoot(cfg.prefix)), "-"
	}
	rest := raw[len(cfg.prefix):]
	if rest == "" || rest == "/" {
		return writeError(w, http.StatusNotFound, "not_found", "give a Caspio resource path after "+prefixOrRoot(cfg.prefix)+", e.g. "+cfg.prefix+"/tables"), "-"
	}

	h := w.Header()
	origin := r.Header.Get("Origin")
	originOK := origin != "" && cfg.origins[origin]
	if len(cfg.origins) > 0 {
		h.Add("Vary", "Origin")
	}
	if originOK {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "X-Caspio-Request-ID")
	}

	if r.Method == http.MethodOptions {
		if !originOK {
			return writeError(w, http.StatusForbidden, "forbidden", "CORS preflight from an origin that PROXY_ORIGINS does not list"), "preflight"
		}
		h.Set("Access-Control-Allow-Methods", cfg.methods)
		h.Set("Access-Control-Allow-Headers", "Content-Type, Accept, X-Proxy-Key")
		h.Set("Access-Control-Max-Age", preflightAge)
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent, "preflight"
	}

	if !cfg.keyValid(r.Header.Get("X-Proxy-Key")) && !originOK {
		return writeError(w, http.StatusUnauthorized, "unauthenticated", "send a valid X-Proxy-Key header, or call from an origin that PROXY_ORIGINS lists"), "-"
	}
	if why := badPath(rest); why != "" {
		return writeError(w, http.StatusBadRequest, "bad_path", "the path "+why), "-"
	}
	ref := rest
	if r.URL.RawQuery != "" {
		ref += "?" + r.URL.RawQuery
	}
	target, err := cfg.flow.ResolveURL(ref)
	if err != nil {
		// Not the core's message: it names the resource base, which callers need not know.
		return writeError(w, http.StatusBadRequest, "bad_path", "the path is not a resource path of the configured Caspio REST API version"), "-"
	}
	path, _, _ := strings.Cut(target[len(cfg.flow.ResourceBase()):], "?")
	if !cfg.allowed(r.Method, path) {
		return writeError(w, http.StatusForbidden, "forbidden", r.Method+" on this path is not allowed by PROXY_ALLOW"), path
	}
	return p.forward(w, r, target), path
}

// forward sends the request to Caspio with the bearer token and passes the answer back.
func (p *proxy) forward(w http.ResponseWriter, r *http.Request, target string) int {
	var body io.Reader
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Body != nil && r.Body != http.NoBody {
		data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return writeError(w, http.StatusBadRequest, "bad_request", "the request body could not be read")
		}
		if len(data) > maxBody {
			return writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the request body is over "+strconv.Itoa(maxBody>>20)+" MiB")
		}
		if len(data) > 0 {
			body = bytes.NewReader(data) // replayable: Do may send it again after a 401
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, target, body)
	if err != nil {
		return writeError(w, http.StatusBadRequest, "bad_request", "the request cannot be forwarded")
	}
	// Only these caller headers go on: never its Authorization, Cookie or X-Proxy-Key.
	for _, name := range allowedRequestHeaders {
		if v := r.Header.Get(name); v != "" {
			req.Header.Set(name, v)
		}
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if body == nil {
		req.Header.Del("Content-Type")
	}

	resp, err := p.http.Do(req)
	if err != nil {
		p.log.Printf("forward %s: %v", r.Method, err)
		var oe *caspio.OAuthError
		switch {
		case errors.As(err, &oe):
			return writeError(w, http.StatusBadGateway, "caspio_auth_failed", "Caspio refused the proxy's credentials ("+oe.ErrorCode+")")
		case errors.Is(err, context.DeadlineExceeded):
			return writeError(w, http.StatusGatewayTimeout, "caspio_timeout", "Caspio did not answer in time")
		default:
			return writeError(w, http.StatusBadGateway, "caspio_unreachable", "the request to Caspio failed")
		}
	}
	defer resp.Body.Close()
	h := w.Header()
	for _, name := range passedResponseHeaders {
		if v := resp.Header.Get(name); v != "" {
			h.Set(name, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	if r.Method != http.MethodHead {
		if _, err := io.Copy(w, resp.Body); err != nil {
			p.log.Printf("forward %s: copying the response: %v", r.Method, err)
		}
	}
	return resp.StatusCode
}

func prefixOrRoot(prefix string) string {
	if prefix == "" {
		return "/"
	}
	return prefix + "/"
}

// writeError answers with the proxy's JSON error shape and returns status.
func writeError(w http.ResponseWriter, status int, code, message string) int {
	body, _ := json.Marshal(map[string]string{"error": code, "message": message})
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
	return status
}
