package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
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
	maxBody       = 8 << 20          // bytes of a request body forwarded to Caspio
	upstreamLimit = 30 * time.Second // for one proxied request, token requests included
	preflightAge  = "600"
)

// allowedRequestHeaders are the only caller headers forwarded to Caspio, and those a
// preflight allows.
var allowedRequestHeaders = []string{"Content-Type", "Accept"}

// passedResponseHeaders are the only Caspio response headers passed back to the caller.
var passedResponseHeaders = []string{"Content-Type", "X-Caspio-Request-ID", "Retry-After"}

// proxy is the Worker's handler.
type proxy struct {
	cfg     *proxyConfig
	access  *accessVerifier // nil when Access is not configured
	http    *http.Client    // the caspio client's, for resource requests; nil when misconfigured
	log     *log.Logger
	timeout time.Duration
}

// deps is what the runtime provides: the transport, the token store and a cache for the
// Access keys.
type deps struct {
	HTTPClient *http.Client // if nil, http.DefaultClient's transport
	// Store returns the token store for a client ID.
	Store    func(clientID string) (client.Store, error)
	KeyCache keyCache // if nil, the keys are kept in memory
	Logger   *log.Logger
	Now      func() time.Time // if nil, time.Now
}

// newProxy reads the configuration and builds the handler. A bad configuration gives a
// handler that authenticates callers and answers those it can a generic 500 with a request
// ID; the log says what is wrong, never with the values.
func newProxy(getenv func(string) string, d deps) http.Handler {
	p := &proxy{log: d.Logger, timeout: upstreamLimit}
	if p.log == nil {
		p.log = log.New(io.Discard, "", 0)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{}
	}
	cfg := loadConfig(getenv)
	p.cfg = cfg
	if cfg.access != nil {
		cache := d.KeyCache
		if cache == nil {
			cache = &memoryKeyCache{}
		}
		p.access = &accessVerifier{cfg: cfg.access, http: d.HTTPClient, cache: cache, now: d.Now, log: p.log}
	}
	defer func() {
		for _, problem := range cfg.problems {
			p.log.Printf("proxy misconfigured: %s", problem)
		}
	}()
	if cfg.settings == nil {
		return p
	}
	store, err := d.Store(cfg.caspio.ClientID)
	if err != nil {
		// The stores' errors name the binding, or the key's length: never the client ID in it.
		cfg.problems = append(cfg.problems, "the token store (CASPIO_BROKER, a TokenBroker Durable Object) is unusable: "+err.Error())
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
		cfg.problems = append(cfg.problems, "CASPIO_ACCOUNT is not a usable Caspio configuration")
		return p
	}
	// Redirects are passed back as they are: the proxy forwards to the resource origin only.
	p.http = c.HTTPClient()
	p.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return p
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	status, route, caller := p.serve(w, r)
	// The method, the route, the caller's kind and the status: never a header, a query or a body.
	p.log.Printf("%s %s %d %s %s", r.Method, route, status, time.Since(start).Round(time.Millisecond), caller)
}

// serve answers r and returns the status and what to log of the path and the caller.
func (p *proxy) serve(w http.ResponseWriter, r *http.Request) (int, string, string) {
	cfg := p.cfg
	raw := r.URL.EscapedPath()
	if raw != cfg.prefix && !strings.HasPrefix(raw, cfg.prefix+"/") {
		return writeError(w, http.StatusNotFound, "not_found", "this proxy serves paths under "+prefixOrRoot(cfg.prefix)), "-", "-"
	}
	rest := raw[len(cfg.prefix):]

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
		// A preflight carries no credential; it learns the methods only. The request that
		// follows is authenticated like any other.
		if !originOK {
			return writeError(w, http.StatusForbidden, "forbidden", "CORS preflight from an origin that PROXY_ORIGINS does not list"), "preflight", "-"
		}
		h.Set("Access-Control-Allow-Methods", cfg.methods)
		h.Set("Access-Control-Allow-Headers", "Content-Type, Accept, X-Proxy-Key")
		h.Set("Access-Control-Max-Age", preflightAge)
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent, "preflight", "-"
	}

	// Who is calling: every credential sent must be valid; an Origin header is no credential.
	callers, status, code, msg := p.authenticate(r)
	if status != 0 {
		return writeError(w, status, code, msg), "-", "-"
	}
	caller := callers.String()
	unauthenticated := func() int {
		return writeError(w, http.StatusUnauthorized, "unauthenticated", "send a valid X-Proxy-Key header, or sign in through Cloudflare Access")
	}
	if len(cfg.problems) > 0 {
		if callers == 0 {
			return unauthenticated(), "-", caller
		}
		id := requestID()
		p.log.Printf("proxy misconfigured (request %s): %s", id, strings.Join(cfg.problems, "; "))
		return writeErrorID(w, http.StatusInternalServerError, "proxy_misconfigured", "the proxy is misconfigured; its log says what to fix under this request ID", id), "-", caller
	}
	if callers == 0 && !cfg.hasPublic {
		return unauthenticated(), "-", caller
	}

	if r.URL.Opaque != "" || r.URL.User != nil {
		return writeError(w, http.StatusBadRequest, "bad_path", "the request target is not a plain path"), "-", caller
	}
	if rest == "" || rest == "/" {
		return writeError(w, http.StatusNotFound, "not_found", "give a Caspio resource path after "+prefixOrRoot(cfg.prefix)+", e.g. "+cfg.prefix+"/tables"), "-", caller
	}
	// The core's path rules (caspio.ParseResourcePath), which the JS proxy asks too.
	segments, why := caspio.ParseResourcePath(rest)
	if why != "" {
		return writeError(w, http.StatusBadRequest, "bad_path", "the path "+why), "-", caller
	}
	ref := caspio.ResourceRef(segments)
	if r.URL.RawQuery != "" {
		ref += "?" + r.URL.RawQuery
	}
	// The core resolves the path on the REST base; what it sends is what the rules match.
	target, err := cfg.settings.ResolveURL(ref)
	if err != nil {
		// Not the core's message: it names the resource base, which callers need not know.
		return writeError(w, http.StatusBadRequest, "bad_path", "the path is not a resource path of the configured Caspio REST API version"), "-", caller
	}
	path, _, _ := strings.Cut(target[len(cfg.settings.ResourceBase()):], "?")
	var resource []string // the REST base itself has no segment
	if path != "" && path != "/" {
		if resource, why = caspio.ParseResourcePath(path); why != "" {
			return writeError(w, http.StatusBadRequest, "bad_path", "the path "+why), "-", caller
		}
	}
	allowed := false
	for _, rule := range cfg.rules {
		allowed = allowed || (rule.matches(r.Method, resource) && rule.callers&(callers|callerPublic) != 0)
	}
	if !allowed {
		if callers == 0 {
			return unauthenticated(), path, caller
		}
		return writeError(w, http.StatusForbidden, "forbidden", r.Method+" on this path is not allowed to this caller by PROXY_ALLOW"), path, caller
	}
	return p.forward(w, r, target), path, caller
}

// authenticate returns the caller kinds r proves, or the error to answer: a key that
// matches none, an Access token that does not verify (401), Access keys that cannot be had
// (503).
func (p *proxy) authenticate(r *http.Request) (callers callerKind, status int, code, message string) {
	// syumai/workers splits header values at commas: a key with one, or two keys, is no key.
	if keys := r.Header.Values("X-Proxy-Key"); len(keys) > 0 && keys[0] != "" {
		if len(keys) > 1 || !p.keyValid(keys[0]) {
			return 0, http.StatusUnauthorized, "unauthenticated", "the X-Proxy-Key header matches none of the proxy's keys"
		}
		callers |= callerKey
	}
	// Without Access configured the header is ignored: the route may sit behind Access for
	// reasons of its own.
	if tokens := r.Header.Values(accessHeader); len(tokens) > 0 && tokens[0] != "" && p.access != nil {
		why, err := p.access.verify(r.Context(), strings.Join(tokens, ","))
		if err != nil {
			return 0, http.StatusServiceUnavailable, "access_unavailable", "the Cloudflare Access keys could not be fetched to verify the Cf-Access-Jwt-Assertion header; try again later"
		}
		if why != "" {
			return 0, http.StatusUnauthorized, "unauthenticated", "the Cf-Access-Jwt-Assertion header " + why
		}
		callers |= callerAccess
	}
	return callers, 0, "", ""
}

// keyValid compares key with every configured key in constant time.
func (p *proxy) keyValid(key string) bool {
	ok := 0
	for _, k := range p.cfg.keys {
		ok |= subtle.ConstantTimeCompare([]byte(key), k)
	}
	return ok == 1
}

// forward sends the request to Caspio with the bearer token and passes the answer back.
func (p *proxy) forward(w http.ResponseWriter, r *http.Request, target string) int {
	var body io.Reader
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Body != nil && r.Body != http.NoBody {
		data, status, msg := readBody(r)
		if status != 0 {
			code := "bad_request"
			if status == http.StatusRequestEntityTooLarge {
				code = "too_large"
			}
			return writeError(w, status, code, msg)
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
		if v := strings.Join(r.Header.Values(name), ","); v != "" {
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
		return writeUpstreamError(w, err)
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

// readBody reads the request body into memory (so that a 401 can be retried with it),
// counting the bytes as they arrive and stopping at maxBody: a stream of any length costs
// maxBody at most. A Content-Length over the limit is refused before anything is read.
// On failure it returns the status and message to answer.
func readBody(r *http.Request) ([]byte, int, string) {
	tooLarge := "the request body is over " + strconv.Itoa(maxBody>>20) + " MiB"
	if r.ContentLength > maxBody {
		r.Body.Close()
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	}
	if data, tooBig, ok, err := readStreamed(r.Body, maxBody); ok {
		switch {
		case err != nil:
			return nil, http.StatusBadRequest, "the request body could not be read"
		case tooBig:
			return nil, http.StatusRequestEntityTooLarge, tooLarge
		}
		return data, 0, ""
	}
	// One buffer, never grown: memory the runtime hands out fresh is zero and untouched,
	// so a body costs what it fills, not the buffer's size.
	size := maxBody + 1
	if r.ContentLength >= 0 {
		size = int(r.ContentLength) + 1
	}
	buf := make([]byte, size)
	n, err := io.ReadFull(r.Body, buf)
	switch {
	case err == nil && n > maxBody:
		r.Body.Close() // cancels the rest of the stream
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	case err == nil:
		// As long as its Content-Length, and more is coming.
		return nil, http.StatusBadRequest, "the request body is longer than its Content-Length"
	case err != io.EOF && err != io.ErrUnexpectedEOF:
		return nil, http.StatusBadRequest, "the request body could not be read"
	}
	return buf[:n], 0, ""
}

// writeUpstreamError answers a request that got no response from Caspio: it timed out
// (504), or its token request failed, answered as the core's ProxyTokenFailure says (the
// JS proxy asks it too).
func writeUpstreamError(w http.ResponseWriter, err error) int {
	var oe *caspio.OAuthError
	var re *caspio.ResponseError
	var ae *caspio.APIError
	status := 0
	switch {
	case errors.As(err, &oe):
		status = oe.Status
	case errors.As(err, &re):
		status = re.Status
	case errors.As(err, &ae):
		status = ae.Status
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return writeError(w, http.StatusGatewayTimeout, "caspio_timeout", "Caspio did not answer in time")
	}
	answer, code, message := caspio.ProxyTokenFailure(status, oe != nil, oauthCode(oe))
	return writeError(w, answer, code, message)
}

func oauthCode(oe *caspio.OAuthError) string {
	if oe == nil {
		return ""
	}
	return oe.ErrorCode
}

func prefixOrRoot(prefix string) string {
	if prefix == "" {
		return "/"
	}
	return prefix + "/"
}

// requestID returns a random ID under which the log explains a 500.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// writeError answers with the proxy's JSON error shape and returns status.
func writeError(w http.ResponseWriter, status int, code, message string) int {
	return writeErrorID(w, status, code, message, "")
}

// writeErrorID is writeError with the request ID of a 500, if any.
func writeErrorID(w http.ResponseWriter, status int, code, message, requestID string) int {
	fields := map[string]string{"error": code, "message": message}
	if requestID != "" {
		fields["request_id"] = requestID
	}
	body, _ := json.Marshal(fields)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
	return status
}
