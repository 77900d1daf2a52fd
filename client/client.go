package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caspio-auth/caspio"
)

// Options configures a Client beyond its caspio.Config. The zero Options are usable.
type Options struct {
	// HTTPClient's Transport performs the token and resource requests; if nil, or if its
	// Transport is nil, http.DefaultTransport does. Its CheckRedirect is asked before each
	// redirect that a resource request would follow (the client follows them itself, by the
	// core's rules), and its Jar and Timeout apply to Do and to HTTPClient's requests. Token
	// requests never follow redirects, whatever it says: the credentials are for the token
	// endpoint alone.
	HTTPClient *http.Client
	// Store is where the token state persists across restarts. If nil, a new MemoryStore
	// is used, and tokens die with the process: a program that restarts often should use a
	// FileStore (or another shared Store) so that it does not log in on every start.
	Store Store
	// OnEvent, if non-nil, observes token events synchronously; it must not block. Events
	// carry no secret.
	OnEvent func(Event)
	// Now is the clock. If nil, time.Now is used; tests pass the sandbox's clock.
	Now func() time.Time
	// TokenTimeout bounds each token request attempt, and each Store call. If zero, 30 s.
	TokenTimeout time.Duration
	// Hold stops token requests the client must not send now: caspio.HoldLogin refuses
	// logins (client_credentials requests) and caspio.HoldAll every token request. A call
	// that needs one fails with a *caspio.TokenError of Kind TOKEN_REQUEST_HELD; stored and
	// held tokens are still used. If empty, every token request is allowed.
	Hold string
	// NoRetry turns off the sending again of resource requests (Do, Records and the other
	// records calls) after a failure that may pass: a 429, a 503 or other 5xx, or no answer.
	// If false, they are sent again by the core's rules: at most caspio.MaxResourceRetries
	// times, after the Retry-After or a backoff, only for methods that do nothing twice
	// (never a POST), each reported as a resource_retry event. A single request opts out
	// with WithoutRetry.
	NoRetry bool
}

// DefaultTokenTimeout is the TokenTimeout used when Options leave it zero.
const DefaultTokenTimeout = 30 * time.Second

// Client gets, caches, persists and refreshes the access token of one Caspio REST API client,
// and sends resource requests with it. It is safe for concurrent use; make one per
// credentials and share it.
//
// Every protocol decision (when to read, lock and write the Store, when to log in or
// refresh, what to retry, where a redirect may take the token) is the core's caspio.Machine;
// the Client performs the steps it asks for with net/http, the Store and the clock.
//
// The zero Client is not usable: make one with New. Its methods fail with ErrZeroClient (or
// return zero values: Stats, Status), never with a panic, and it sends nothing.
type Client struct {
	settings *caspio.Settings
	machine  *caspio.Machine

	store   Store
	locker  Locker        // the Store as a Locker, if it is one
	expires ExpiringStore // the Store as an ExpiringStore, if it is one
	onEvent func(Event)
	now     func() time.Time

	tokenTimeout  time.Duration
	noRetry       bool
	base          http.RoundTripper // performs every request
	checkRedirect func(req *http.Request, via []*http.Request) error
	jar           http.CookieJar
	timeout       time.Duration
	viaNetHTTP    *http.Client // for Do, when the Options' client has a Jar or a Timeout

	// lease is the fast path: while it is valid, Token and Do make no call into the machine.
	lease atomic.Pointer[lease]

	mu     sync.Mutex
	landed chan struct{} // closed and replaced whenever an acquisition lands
}

// ErrZeroClient is the error of a zero Client's methods: it was not made by New, and has no
// configuration.
var ErrZeroClient = errors.New("caspio client: the Client is the zero Client, which has no configuration; make it with client.New")

// Stats counts a client's token requests. All but UnauthorizedRetries come from the token
// state, so they span restarts as far as the Store keeps the state.
type Stats struct {
	ClientCredentialsRequests int // client_credentials requests made, failed ones included
	RefreshTokenRequests      int // refresh_token requests made, failed ones included
	Logins                    int // successful client_credentials grants (refresh tokens minted)
	Refreshes                 int // successful refresh_token grants
	UnauthorizedRetries       int // resource requests this process sent again after a 401
}

// New checks cfg (through caspio.NewSettings) and returns a client. It makes no request.
func New(cfg caspio.Config, opts Options) (*Client, error) {
	settings, err := caspio.NewSettings(cfg)
	if err != nil {
		return nil, wrap("", err)
	}
	if opts.TokenTimeout < 0 {
		return nil, fmt.Errorf("caspio client: Options.TokenTimeout is negative (%s); use a positive duration, or zero for %s", opts.TokenTimeout, DefaultTokenTimeout)
	}
	c := &Client{
		settings:     settings,
		store:        opts.Store,
		onEvent:      opts.OnEvent,
		now:          opts.Now,
		tokenTimeout: opts.TokenTimeout,
		noRetry:      opts.NoRetry,
		landed:       make(chan struct{}),
	}
	if c.store == nil {
		c.store = NewMemoryStore()
	}
	c.locker, _ = c.store.(Locker)
	c.expires, _ = c.store.(ExpiringStore)
	if c.now == nil {
		c.now = time.Now
	}
	if c.tokenTimeout == 0 {
		c.tokenTimeout = DefaultTokenTimeout
	}
	c.machine, err = caspio.NewMachine(settings, caspio.Options{
		Lock: c.locker != nil,
		Hold: opts.Hold,
		// Rounded up, so that a timeout under a millisecond stays one.
		TokenTimeout: caspio.Millis((c.tokenTimeout + time.Millisecond - 1) / time.Millisecond),
	})
	if err != nil {
		return nil, wrap("", err)
	}
	c.base = http.DefaultTransport
	if hc := opts.HTTPClient; hc != nil {
		if hc.Transport != nil {
			c.base = hc.Transport
		}
		c.checkRedirect, c.jar, c.timeout = hc.CheckRedirect, hc.Jar, hc.Timeout
	}
	if c.jar != nil || c.timeout > 0 {
		c.viaNetHTTP = c.HTTPClient()
	}
	return c, nil
}

// usable returns ErrZeroClient for a zero (or nil) Client.
func (c *Client) usable() error {
	if c == nil || c.machine == nil {
		return ErrZeroClient
	}
	return nil
}

// Token returns a valid access token, getting one if needed: from memory, from the Store
// (another process may have just refreshed), by a refresh, or by a login. Concurrent callers
// share one acquisition; a caller whose ctx ends stops waiting without cancelling it for the
// others.
func (c *Client) Token(ctx context.Context) (*Token, error) {
	if l := c.validLease(); l != nil {
		t := l.token
		return &t, nil
	}
	return c.acquire(ctx, "get token", (*caspio.Machine).Token)
}

// Authenticate logs in with the client ID and secret now (a client_credentials grant),
// whatever token the client holds. Each login mints a refresh token, of which an account
// keeps 1,000: Token is what most callers want.
func (c *Client) Authenticate(ctx context.Context) (*Token, error) {
	return c.acquire(ctx, "authenticate", (*caspio.Machine).Authenticate)
}

// Refresh performs a refresh_token grant now. When the refresh token is refused (expired,
// revoked or evicted) or there is none, it logs in instead, as the core says.
func (c *Client) Refresh(ctx context.Context) (*Token, error) {
	return c.acquire(ctx, "refresh", (*caspio.Machine).Refresh)
}

// acquire runs one acquisition conversation, started by start, and returns its token.
func (c *Client) acquire(ctx context.Context, what string, start func(*caspio.Machine, caspio.UnixMilli) *caspio.Conversation) (*Token, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, wrap(what, err)
	}
	conv := start(c.machine, c.nowMillis())
	step, err := c.run(ctx, conv, conv.Step(), nil)
	switch {
	case err != nil:
		return nil, wrap(what, err)
	case step.Kind != caspio.StepDone:
		return nil, wrap(what, step.Err)
	}
	t := newLease(step.Lease, step.Status).token
	return &t, nil
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	if c.usable() != nil {
		return Stats{}
	}
	st := c.machine.Status(c.nowMillis())
	return Stats{
		ClientCredentialsRequests: st.Counters.ClientCredentialsRequests,
		RefreshTokenRequests:      st.Counters.RefreshRequests,
		Logins:                    st.Counters.Logins,
		Refreshes:                 st.Counters.Refreshes,
		UnauthorizedRetries:       st.UnauthorizedRetries,
	}
}

// Status is what a client knows of its tokens at an instant, for a status page or a log
// line: caspio.Status with times as time.Time, as Token gives them. It holds no secret.
type Status struct {
	RefreshMargin         time.Duration // how long before its expiry an access token is refreshed
	AccessTokenExpiresAt  time.Time     // when the access token in memory expires; zero when there is none
	LeaseValidUntil       time.Time     // when the client stops sending it: the margin before expiry; zero when there is none
	RefreshTokenExpiresAt time.Time     // when the refresh token expires on Caspio's side; zero when there is none
	// Next is what a request for a token would do now: caspio.UseLease, Refresh or
	// Authenticate.
	Next                caspio.Action
	Counters            caspio.Counters // the state's counters, across restarts as far as the Store keeps them
	UnauthorizedRetries int             // resource requests sent again after a 401, by this client
	Revoked             int             // Authorization values remembered as refused by a 401
	// Acquiring is the acquisition in flight: "token", "authenticate", "refresh", or "".
	Acquiring string
	Hold      string // Options.Hold
}

// Status returns what the client knows of its tokens now, for a status page or a log line:
// the refresh margin, the expiries, what a request for a token would do, the counters and
// the hold. It holds no secret. A zero Client has the zero Status.
func (c *Client) Status() Status {
	if c.usable() != nil {
		return Status{}
	}
	st := c.machine.Status(c.nowMillis())
	return Status{
		RefreshMargin:         millis(st.RefreshMargin),
		AccessTokenExpiresAt:  instant(st.AccessTokenExpiresAt),
		LeaseValidUntil:       instant(st.LeaseValidUntil),
		RefreshTokenExpiresAt: instant(st.RefreshTokenExpiresAt),
		Next:                  st.Next,
		Counters:              st.Counters,
		UnauthorizedRetries:   st.UnauthorizedRetries,
		Revoked:               st.Revoked,
		Acquiring:             st.Acquiring,
		Hold:                  st.Hold,
	}
}

// String describes the client without its secret.
func (c *Client) String() string {
	if c.usable() != nil {
		return "caspio client{zero}"
	}
	return "caspio client{token URL " + c.settings.TokenURL() + ", resource base " + c.settings.ResourceBase() +
		", client ID " + c.settings.ClientID() + ", secret [redacted]}"
}

// GoString is String, for %#v.
func (c *Client) GoString() string { return c.String() }

// Format prints String for every verb (%q quotes it), so that no verb reaches the fields.
func (c *Client) Format(f fmt.State, verb rune) { formatRedacted(f, verb, c.String()) }

func (c *Client) nowMillis() caspio.UnixMilli { return caspio.UnixMilli(c.now().UnixMilli()) }

// validLease returns the lease the client holds if it is valid now, or nil.
func (c *Client) validLease() *lease {
	if c == nil || c.machine == nil {
		return nil
	}
	if l := c.lease.Load(); l != nil && c.nowMillis() < l.validUntil {
		return l
	}
	return nil
}

// millis is a span of the core as a time.Duration.
func millis(d caspio.Millis) time.Duration { return time.Duration(d) * time.Millisecond }
