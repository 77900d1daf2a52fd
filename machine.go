package caspio

import "sync"

// Machine is the protocol state of one client: the token state in memory, the Authorization
// values that a 401 refused, and the acquisition in flight. It performs no I/O. A driver
// starts a Conversation for each thing its caller asks (Token, Authenticate, Refresh,
// Fetch), performs the steps the conversation asks for and feeds their results back, until
// a done or fail step; see the package documentation for the loop.
//
// A Machine is safe for concurrent use, and its conversations may run at the same time: at
// most one acquisition is in flight, and the others join it. Make one Machine per client
// object and keep it as long as the client.
type Machine struct {
	settings *Settings
	opts     Options

	mu      sync.Mutex
	state   State    // always without the revoked access tokens
	revoked []Secret // Authorization values a 401 refused, newest last
	flight  *flight  // the acquisition in flight, if any
	flights int      // flights started, for their ids
	stale   bool     // the store changed: read it before trusting memory
	retries int      // resource requests sent again after a 401
	urls    []refURL // the references of the latest resource requests, resolved, newest last (Options.LeaseKey)
}

// refURL is a reference and the URL it resolved to.
type refURL struct{ ref, url string }

// Options configures a Machine. The zero Options suit a store of this process only, such as
// a memory store.
type Options struct {
	// Lock says that the store is shared with other processes and has a lock (a lock file,
	// Web Locks, a Durable Object). The machine then asks for lock and unlock steps around
	// the reading, token requests and writing of an acquisition, and before taking the lock
	// it reads the store once without it: a token another process stored serves without
	// queueing for the lock. If false, no lock or unlock step is asked for.
	Lock bool
	// Hold stops token requests the client must not send now: HoldLogin refuses
	// client_credentials requests and HoldAll every token request (a refresh needs the
	// client secret too), with a *TokenError of KindHeld where one would be sent. Stored
	// and held tokens are still used. If empty, every token request is allowed.
	Hold string
	// TokenTimeout is how long a driver waits for the answer to a token request (the
	// Timeout of token_request steps), and sets how long it waits for the store's lock. If
	// zero, DefaultTokenTimeout is used.
	TokenTimeout Millis
	// LeaseKey, if not empty, makes every state the machine writes carry its lease
	// (State.Start): the Authorization value, until when it is valid, the URLs of its
	// latest resource requests, and this key. A driver that starts before its machine (a
	// process that must answer fast) sends with it when the key it would open its machine
	// with is equal; so the key must change with everything that decides the lease and the
	// URLs (the configuration, the version). If empty, no lease is written.
	LeaseKey string
}

// Values of Options.Hold.
const (
	HoldLogin = "login" // no client_credentials request: refreshes only
	HoldAll   = "all"   // no token request at all
)

// DefaultTokenTimeout is the TokenTimeout used when Options leave it zero.
const DefaultTokenTimeout = 30 * Second

// maxRevoked bounds the Authorization values remembered as refused. A few old requests may
// still be in flight with older tokens when one is refused.
const maxRevoked = 4

// maxTokenRequests bounds the token requests of one acquisition: HandleTokenResponse allows
// MaxTokenRetries retries of transient failures, and a refused refresh token adds a login;
// the rest is headroom against a server that misbehaves.
const maxTokenRequests = 8

// maxRedirects bounds the redirects one resource request follows, as Go's http.Client does.
const maxRedirects = 10

// maxSteps bounds the steps of one conversation, whatever the results fed to it. A legal
// conversation stays well below: an acquisition takes at most 28 steps, and a resource
// request makes at most 16 sends (redirects, a 401, MaxResourceRetries).
const maxSteps = 400

// NewMachine returns the machine of a client with settings. Options it cannot use give a
// *ConfigError naming the field, and so do zero Settings (not made by NewSettings) and
// Settings without a ClientSecret unless Options.Hold is HoldAll (no token request at all). Nil
// settings give a machine whose every conversation fails with a *StepError.
func NewMachine(settings *Settings, opts Options) (*Machine, error) {
	if settings != nil && !settings.usable() {
		return nil, errZeroSettings()
	}
	switch opts.Hold {
	case "", HoldLogin, HoldAll:
	default:
		return nil, &ConfigError{Field: "Hold", Problem: "is not a kind of token request to hold (" + ShowInput("hold", opts.Hold) + ")", Fix: `use "login", "all", or "" to hold none`}
	}
	if settings != nil && settings.clientSecret.IsZero() && opts.Hold != HoldAll {
		return nil, &ConfigError{Field: "ClientSecret", Problem: "is empty", Fix: `copy the Client Secret from the account's Web services profile; a client may go without it only if it holds every token request (hold "all")`}
	}
	switch {
	case opts.TokenTimeout < 0:
		return nil, &ConfigError{Field: "TokenTimeout", Problem: "is negative", Fix: "use a positive span, or zero for the default of 30 seconds"}
	case opts.TokenTimeout == 0:
		opts.TokenTimeout = DefaultTokenTimeout
	}
	return &Machine{settings: settings, opts: opts}, nil
}

// Settings returns the machine's settings.
func (m *Machine) Settings() *Settings { return m.settings }

// Options returns the options in use, defaults filled in.
func (m *Machine) Options() Options { return m.opts }

// Token starts a conversation that ends with a valid lease: the one in memory, one stored by
// another process, or one from a refresh or a login, as the state calls for.
func (m *Machine) Token(now UnixMilli) *Conversation { return m.start(modeToken, nil, now) }

// Authenticate starts a conversation that logs in with the client ID and secret (a
// client_credentials grant), whatever token the client holds. Each login mints a refresh
// token, of which an account keeps 1,000: Token is what most callers want.
func (m *Machine) Authenticate(now UnixMilli) *Conversation {
	return m.start(modeAuthenticate, nil, now)
}

// Refresh starts a conversation that performs a refresh_token grant, and logs in instead
// when the refresh token is refused or there is none.
func (m *Machine) Refresh(now UnixMilli) *Conversation { return m.start(modeRefresh, nil, now) }

// Fetch starts the conversation of one resource request: resolve its reference, send it
// with a lease, get a fresh token and send it once more after a 401 when its body allows,
// and follow redirects, with the bearer token only on the REST base. It ends with a done
// step when the last response is the one to hand back.
func (m *Machine) Fetch(req ResourceRequest, now UnixMilli) *Conversation {
	return m.start(modeFetch, &req, now)
}

// ResourceRequest is what Fetch needs to know of a resource request. The driver keeps the
// request itself (headers, body) and sends it as the send steps say.
type ResourceRequest struct {
	// Method is the HTTP method. If empty, GET is used.
	Method string
	// Ref is a path on the REST base or a full URL on it, as Settings.ResolveURL takes it.
	Ref string
	// OneShot says that the body can be sent only once (a stream). The request is then not
	// sent again: a 401 or a 307/308 redirect is the response to hand back. If false, the
	// body (or its absence) can be sent again.
	OneShot bool
	// Redirect is what a redirect answer does, as fetch's redirect option says:
	// FollowRedirects follows it, ManualRedirects hands it back, RefuseRedirects fails with a
	// *RedirectError. If empty, FollowRedirects is used.
	Redirect string
	// Authorization is a lease's value that the driver holds: the first send carries it
	// instead of asking for a token. A driver that has already sent the request with it (the
	// hot path, which makes no call into the machine) and got a 401 or a redirect starts the
	// conversation with it and feeds the response it got as the result of that first send.
	// If zero, the first send waits for a token as Token does.
	Authorization Secret
	// NoRetry says that a failure is handed back as it is: no 429, 503, other 5xx or lost
	// answer is sent again. If false, those are sent again by the core's rules, at most
	// MaxResourceRetries times, and never a POST (see the retry event).
	NoRetry bool
}

// Values of ResourceRequest.Redirect.
const (
	FollowRedirects = "follow"
	ManualRedirects = "manual"
	RefuseRedirects = "error"
)

// Lease returns the lease on the access token in memory, if it is valid at now. A driver
// may send its Authorization until ValidUntil without calling the machine, as long as no 401
// refuses it; done and fail steps carry it too.
func (m *Machine) Lease(now UnixMilli) (Lease, bool) {
	if m == nil || m.settings == nil {
		return Lease{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lease(now)
}

// State returns the token state in memory, without the access tokens a 401 refused.
func (m *Machine) State() State {
	if m == nil {
		return State{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// StoreChanged tells the machine that another writer changed the store (a browser tab's
// storage event, say): the next Token reads the store before it trusts the token in memory.
// A driver drops the lease it holds as well.
func (m *Machine) StoreChanged() {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.stale = true
	m.mu.Unlock()
}

// Status is what a client knows of its tokens at an instant, for a status page or a log
// line. It holds no secret. Instants are zero when there is no such token.
type Status struct {
	RefreshMargin         Millis    // how long before its expiry an access token is refreshed
	AccessTokenExpiresAt  UnixMilli // when the access token in memory expires
	LeaseValidUntil       UnixMilli // when the client stops sending it: the margin before expiry
	RefreshTokenExpiresAt UnixMilli // when the refresh token expires on Caspio's side
	// Next is what a request for a token would do now: UseLease, Refresh or Authenticate.
	Next                Action
	Counters            Counters // the state's counters, across restarts as far as it is stored
	UnauthorizedRetries int      // resource requests sent again after a 401, by this machine
	Revoked             int      // Authorization values remembered as refused by a 401
	// Acquiring is the acquisition in flight: "token", "authenticate", "refresh", or "".
	Acquiring string
	Hold      string // Options.Hold
}

// Status returns the status at now.
func (m *Machine) Status(now UnixMilli) Status {
	if m == nil || m.settings == nil {
		return Status{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status(now)
}

func (m *Machine) status(now UnixMilli) Status {
	s := m.state
	st := Status{
		RefreshMargin:       m.settings.margin,
		Next:                m.settings.Decide(s, now).Action,
		Counters:            s.Counters,
		UnauthorizedRetries: m.retries,
		Revoked:             len(m.revoked),
		Hold:                m.opts.Hold,
	}
	if m.settings.Owns(s) && s.HasAccessToken() {
		st.AccessTokenExpiresAt = s.ExpiresAt
		st.LeaseValidUntil, _ = m.settings.leaseUntil(s)
	}
	if m.settings.Owns(s) && !s.RefreshToken.IsZero() {
		st.RefreshTokenExpiresAt = RefreshTokenExpiry(s)
	}
	if m.flight != nil {
		st.Acquiring = string(m.flight.mode)
	}
	return st
}

// lease is Lease with m.mu held.
func (m *Machine) lease(now UnixMilli) (Lease, bool) {
	d := m.settings.Decide(m.state, now)
	return d.Lease, d.Action == UseLease
}

// resolved remembers that ref resolved to url, for the lease written with the state.
func (m *Machine) resolved(ref, url string) {
	if m.opts.LeaseKey == "" {
		return
	}
	for i, r := range m.urls {
		if r.ref == ref {
			m.urls = append(m.urls[:i], m.urls[i+1:]...)
			break
		}
	}
	if len(m.urls) >= MaxStartURLs {
		m.urls = m.urls[1:]
	}
	m.urls = append(m.urls, refURL{ref, url})
}

// written is s as the machine writes it at now: with its lease (Options.LeaseKey) when
// the state gives one.
func (m *Machine) written(s State, now UnixMilli) State {
	s.Start = nil
	if m.opts.LeaseKey == "" {
		return s
	}
	d := m.settings.Decide(s, now)
	if d.Action != UseLease {
		return s
	}
	urls := make(map[string]string, len(m.urls))
	for _, r := range m.urls {
		urls[r.ref] = r.url
	}
	s.Start = &StartLease{Key: m.opts.LeaseKey, Lease: d.Lease, URLs: urls}
	return s
}

// clean drops from s the access tokens a 401 refused: a store may still hold one, written
// before the refusal or by a process that has not met it yet.
func (m *Machine) clean(s State) State {
	for _, sent := range m.revoked {
		s, _ = m.settings.Unauthorized(s, sent.Reveal())
	}
	return s
}

// isRevoked reports whether authorization is one a 401 refused.
func (m *Machine) isRevoked(authorization string) bool {
	for _, sent := range m.revoked {
		if sent.Reveal() == authorization {
			return true
		}
	}
	return false
}

// unauthorized handles a 401 to a request that carried sent: it drops the access token in
// memory if sent carried it, and remembers sent, so that no state read later brings it
// back, whether memory held it or not (a driver's lease may come from a state this machine
// no longer holds). It reports whether sent is newly refused. The state is not written now:
// the token request that a 401 leads to writes it.
func (m *Machine) unauthorized(sent string) bool {
	m.state, _ = m.settings.Unauthorized(m.state, sent)
	if m.isRevoked(sent) {
		return false
	}
	if len(m.revoked) >= maxRevoked {
		m.revoked = append(m.revoked[:0], m.revoked[1:]...)
	}
	m.revoked = append(m.revoked, NewSecret(sent))
	return true
}

// String describes the machine without its tokens.
func (m *Machine) String() string {
	if m == nil || m.settings == nil {
		return "caspio.Machine{}"
	}
	return "caspio.Machine{" + m.settings.String() + "}"
}

// GoString is String, for %#v.
func (m *Machine) GoString() string { return m.String() }

// storeExpiry says when a store that expires entries may drop s: when no token in it is of
// use any more, the later of its refresh token's expiry on Caspio's side and its access
// token's expiry. A state without tokens is kept (zero), for its counters. The TTL is that
// instant less now in whole seconds, rounded up, and at least a minute, the shortest that
// Workers KV accepts.
func storeExpiry(s State, now UnixMilli) (at UnixMilli, ttl Millis) {
	if !s.RefreshToken.IsZero() {
		at = RefreshTokenExpiry(s)
	}
	if s.HasAccessToken() && s.ExpiresAt > at {
		at = s.ExpiresAt
	}
	if at == 0 {
		return 0, 0
	}
	ttl = (at.Sub(now) + Second - 1) / Second * Second
	return at, max(ttl, minStoreTTL)
}

// minStoreTTL is the shortest TTL a write step carries.
const minStoreTTL = Minute

// requests counts a state's token requests: every token response adds one, so of two
// states of one client the one with more requests is the newer.
func requests(s State) int {
	return s.Counters.ClientCredentialsRequests + s.Counters.RefreshRequests
}

// CompareStored says which of two stored states, given as decoded JSON, is the newer, by
// the rule the machine adopts a stored state by: the one with more token requests (every
// token response adds one, and the counters only grow). It returns 1 when a is newer, -1
// when b is, 0 when neither is. A value that is not a state ParseState reads (nil
// included) is older than any state. A store that hears of states from other writers (the
// tabs sharing a webStorage) keeps the newer one by it.
func CompareStored(a, b any) int {
	sa, errA := ParseState(a)
	sb, errB := ParseState(b)
	switch {
	case errA != nil && errB != nil:
		return 0
	case errA != nil:
		return -1
	case errB != nil:
		return 1
	}
	return compareInt(requests(sa), requests(sb))
}

func compareInt(a, b int) int {
	switch {
	case a > b:
		return 1
	case a < b:
		return -1
	}
	return 0
}

// storeStep is a read or unlock step, bounded as every store call is by TokenTimeout.
func (m *Machine) storeStep(kind string) Step { return Step{Kind: kind, Timeout: m.opts.TokenTimeout} }

// lockTimeout bounds the wait for the store's lock (see LockTimeout).
func (m *Machine) lockTimeout() Millis { return LockTimeout(m.opts.TokenTimeout) }
