package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caspio-auth/caspio"
)

// Options configures a Client beyond its caspio.Config. The zero Options are usable.
type Options struct {
	// HTTPClient performs the token and resource requests. If nil, a client using
	// http.DefaultTransport is used. Token requests never follow redirects, whatever its
	// CheckRedirect says: the credentials are for the token endpoint alone.
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
}

// DefaultTokenTimeout is the TokenTimeout used when Options leave it zero.
const DefaultTokenTimeout = 30 * time.Second

// Client gets, caches, persists and refreshes the access token of one Caspio REST API client,
// and sends resource requests with it. It is safe for concurrent use; make one per
// credentials and share it.
type Client struct {
	flow         *caspio.Flow
	store        Store
	onEvent      func(Event)
	now          func() time.Time
	tokenTimeout time.Duration
	tokenClient  *http.Client // never follows redirects
	httpClient   *http.Client // what HTTPClient returns copies of, and what Do uses
	base         http.RoundTripper

	// lease is the fast path: a valid lease makes Token and Do touch no lock.
	lease      atomic.Pointer[lease]
	retries401 atomic.Int64

	mu      sync.Mutex // guards state, revoked and flights
	state   caspio.State
	revoked []caspio.Secret // Authorization values a 401 refused, also dropped from stored state
	flights map[mode]*flight

	// acquiring serialises the acquisitions of this process; the Store's Locker, if any,
	// serialises those of processes sharing the store.
	acquiring sync.Mutex
}

// lease is a token the client may send until validUntil.
type lease struct {
	token         Token
	authorization string
	validUntil    caspio.UnixMilli
}

// mode is what an acquisition is for.
type mode int

const (
	modeToken        mode = iota // a valid token, from wherever it comes
	modeAuthenticate             // a client_credentials login now
	modeRefresh                  // a refresh_token grant now
)

func (m mode) String() string {
	switch m {
	case modeAuthenticate:
		return "authenticate"
	case modeRefresh:
		return "refresh"
	}
	return "get token"
}

// flight is one acquisition that concurrent callers share.
type flight struct {
	done  chan struct{}
	lease *lease
	err   error
}

// Stats counts a client's token requests. All but UnauthorizedRetries come from the token
// state, so they span restarts as far as the Store keeps the state.
type Stats struct {
	ClientCredentialsRequests int // client_credentials requests made, failed ones included
	RefreshTokenRequests      int // refresh_token requests made, failed ones included
	Logins                    int // successful client_credentials grants (refresh tokens minted)
	Refreshes                 int // successful refresh_token grants
	UnauthorizedRetries       int // resource requests this process sent again after a 401
}

// maxIterations bounds the token requests of one acquisition. The core already bounds
// transient retries (caspio.MaxTokenRetries); a refused refresh adds one login.
const maxIterations = 8

// maxTokenBody bounds what is read of a token response or an API error body.
const maxTokenBody = 1 << 20

// New checks cfg (through caspio.NewFlow) and returns a client. It makes no request.
func New(cfg caspio.Config, opts Options) (*Client, error) {
	flow, err := caspio.NewFlow(cfg)
	if err != nil {
		return nil, fmt.Errorf("caspio client: %w", err)
	}
	if opts.TokenTimeout < 0 {
		return nil, fmt.Errorf("caspio client: Options.TokenTimeout is negative (%s); use a positive duration, or zero for %s", opts.TokenTimeout, DefaultTokenTimeout)
	}
	c := &Client{
		flow:         flow,
		store:        opts.Store,
		onEvent:      opts.OnEvent,
		now:          opts.Now,
		tokenTimeout: opts.TokenTimeout,
		flights:      make(map[mode]*flight),
	}
	if c.store == nil {
		c.store = NewMemoryStore()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.tokenTimeout == 0 {
		c.tokenTimeout = DefaultTokenTimeout
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: http.DefaultTransport}
	}
	c.base = hc.Transport
	if c.base == nil {
		c.base = http.DefaultTransport
	}
	tc := *hc
	tc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.tokenClient = &tc
	userCheck := hc.CheckRedirect
	c.httpClient = &http.Client{
		Transport: c.Transport(nil),
		Jar:       hc.Jar,
		Timeout:   hc.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("caspio client: stopped after 10 redirects")
			}
			if origin(req.URL) != origin(via[0].URL) {
				req.Header.Del("Authorization")
			}
			if userCheck != nil {
				return userCheck(req, via)
			}
			return nil
		},
	}
	return c, nil
}

// Token returns a valid access token, getting one if needed: from memory, from the Store
// (another process may have just refreshed), by a refresh, or by a login. Concurrent callers
// share one acquisition; a caller whose ctx ends stops waiting without cancelling it for the
// others.
func (c *Client) Token(ctx context.Context) (*Token, error) {
	l, err := c.currentLease(ctx)
	if err != nil {
		return nil, err
	}
	t := l.token
	return &t, nil
}

// Authenticate logs in with the client ID and secret now (a client_credentials grant),
// whatever token the client holds. Each login mints a refresh token, of which an account
// keeps 1,000: Token is what most callers want.
func (c *Client) Authenticate(ctx context.Context) (*Token, error) {
	return c.forced(ctx, modeAuthenticate)
}

// Refresh performs a refresh_token grant now. When the refresh token is refused (expired,
// revoked or evicted) or there is none, it logs in instead, as the core says.
func (c *Client) Refresh(ctx context.Context) (*Token, error) {
	return c.forced(ctx, modeRefresh)
}

func (c *Client) forced(ctx context.Context, m mode) (*Token, error) {
	l, err := c.acquire(ctx, m)
	if err != nil {
		return nil, err
	}
	t := l.token
	return &t, nil
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	counters := c.state.Counters
	c.mu.Unlock()
	return Stats{
		ClientCredentialsRequests: counters.ClientCredentialsRequests,
		RefreshTokenRequests:      counters.RefreshRequests,
		Logins:                    counters.Logins,
		Refreshes:                 counters.Refreshes,
		UnauthorizedRetries:       int(c.retries401.Load()),
	}
}

// String describes the client without its secret.
func (c *Client) String() string {
	return "caspio client{token URL " + c.flow.TokenURL() + ", resource base " + c.flow.ResourceBase() +
		", client ID " + c.flow.ClientID() + ", secret [redacted]}"
}

// GoString is String, for %#v.
func (c *Client) GoString() string { return c.String() }

// Format prints String for every verb (%q quotes it), so that no verb reaches the fields.
func (c *Client) Format(f fmt.State, verb rune) { formatRedacted(f, verb, c.String()) }

func (c *Client) nowMillis() caspio.UnixMilli { return caspio.UnixMilli(c.now().UnixMilli()) }

func (c *Client) emit(e Event) {
	if c.onEvent != nil {
		c.onEvent(e)
	}
}

// currentLease returns the cached lease while it is valid, or acquires a new one.
func (c *Client) currentLease(ctx context.Context) (*lease, error) {
	if l := c.lease.Load(); l != nil && c.nowMillis() < l.validUntil {
		return l, nil
	}
	return c.acquire(ctx, modeToken)
}

// acquire joins the acquisition in flight for m, or starts one, and waits for it or for ctx.
func (c *Client) acquire(ctx context.Context, m mode) (*lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("caspio client: %s: %w", m, err)
	}
	c.mu.Lock()
	f := c.flights[m]
	if f == nil {
		f = &flight{done: make(chan struct{})}
		c.flights[m] = f
		// Detached from the caller's cancellation (not its values): the others waiting for
		// this acquisition must not lose it because the first caller gave up.
		go c.fly(context.WithoutCancel(ctx), m, f)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.lease, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("caspio client: %s: %w", m, ctx.Err())
	}
}

func (c *Client) fly(ctx context.Context, m mode, f *flight) {
	l, err := c.drive(ctx, m)
	if err != nil {
		err = fmt.Errorf("caspio client: %s: %w", m, err)
	}
	f.lease, f.err = l, err
	c.mu.Lock()
	delete(c.flights, m)
	c.mu.Unlock()
	close(f.done)
}

// drive is one acquisition: lock the store, adopt its state if it is newer, then ask the
// core what to do and do it until there is a token or a final error.
func (c *Client) drive(ctx context.Context, m mode) (*lease, error) {
	c.acquiring.Lock()
	defer c.acquiring.Unlock()
	locker, shared := c.store.(Locker)
	if m == modeToken {
		// An acquisition that finished while this one waited may have left a valid lease.
		if l := c.lease.Load(); l != nil && c.nowMillis() < l.validUntil {
			return l, nil
		}
		// A store shared with other processes may already hold a usable token: then no lock
		// is needed. Taking it costs a system call for a file, and a round trip that every
		// request of the deployment queues behind for a Durable Object.
		if shared {
			if _, l := c.setState(c.load(ctx, false), c.nowMillis()); l != nil {
				return l, nil
			}
		}
	}
	if shared {
		lctx, cancel := context.WithTimeout(ctx, c.lockWait())
		unlock, err := locker.Lock(lctx)
		cancel()
		if err != nil {
			// Going on unlocked risks one extra login; failing would lose the token.
			c.emit(Event{Kind: EventStoreError, Err: fmt.Errorf("caspio client: lock token state: %w", err)})
		} else {
			defer func() {
				if err := unlock(); err != nil {
					c.emit(Event{Kind: EventStoreError, Err: fmt.Errorf("caspio client: unlock token state: %w", err)})
				}
			}()
		}
	}
	state := c.load(ctx, true)

	transient := 0 // failed attempts the core may retry, as HandleTokenResponse counts them
	var lastErr error
	for i := 1; ; i++ {
		now := c.nowMillis()
		var l *lease
		state, l = c.setState(state, now)
		action := caspio.Authenticate
		switch m {
		case modeToken:
			if l != nil {
				return l, nil
			}
			action = c.flow.Decide(state, now).Action
		case modeRefresh:
			action = caspio.Refresh // TokenRequest logs in when there is no refresh token
		}
		if i > maxIterations {
			return nil, fmt.Errorf("gave up after %d token requests: %w", maxIterations, lastErr)
		}

		req := c.flow.TokenRequest(action, state)
		c.emit(Event{Kind: EventTokenRequest, Grant: req.Grant, Attempt: i})
		resp := c.perform(ctx, req)
		now = c.nowMillis()
		res := c.flow.HandleTokenResponse(action, state, resp, now, transient, rand.Float64())
		state, l = c.setState(res.State, now)
		c.save(ctx, state)

		if res.Err == nil {
			kind := EventLogin
			if req.Grant == caspio.GrantRefreshToken {
				kind = EventRefresh
			}
			c.emit(Event{Kind: kind, Grant: req.Grant, Attempt: i, Status: resp.Status, ExpiresAt: time.UnixMilli(int64(state.ExpiresAt))})
			if l == nil {
				return nil, errors.New("the new access token gives no lease (is the clock going backwards?)")
			}
			return l, nil
		}
		c.emit(Event{Kind: EventTokenError, Grant: req.Grant, Attempt: i, Status: resp.Status, Err: res.Err})
		lastErr = res.Err
		if i > 1 {
			lastErr = fmt.Errorf("after %d attempts: %w", i, res.Err)
		}
		if !res.Retry {
			return nil, lastErr
		}
		if resp.Status == 0 || resp.Status == http.StatusTooManyRequests || resp.Status >= 500 {
			transient++
		}
		wait := time.Duration(res.Wait) * time.Millisecond
		c.emit(Event{Kind: EventRetry, Grant: req.Grant, Attempt: i, Status: resp.Status, Wait: wait, Err: res.Err})
		if wait > 0 {
			if err := sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
	}
}

// lockWait bounds the wait for the Store's lock: long enough for another process's whole
// acquisition (four attempts and three Retry-After waits).
func (c *Client) lockWait() time.Duration {
	return c.tokenTimeout*(caspio.MaxTokenRetries+1) +
		caspio.MaxTokenRetries*time.Duration(caspio.MaxRetryAfter)*time.Millisecond + 10*time.Second
}

// setState makes s the client's state (dropping any token a 401 refused) and publishes its
// lease, if it gives one at now.
func (c *Client) setState(s caspio.State, now caspio.UnixMilli) (caspio.State, *lease) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sent := range c.revoked {
		s, _ = c.flow.Unauthorized(s, sent.Reveal())
	}
	c.state = s
	d := c.flow.Decide(s, now)
	if d.Action != caspio.UseLease {
		c.lease.Store(nil)
		return s, nil
	}
	t := Token{
		AccessToken: s.AccessToken,
		ExpiresAt:   time.UnixMilli(int64(s.ExpiresAt)),
		ValidUntil:  time.UnixMilli(int64(d.Lease.ValidUntil)),
		Logins:      s.Counters.Logins,
		Refreshes:   s.Counters.Refreshes,
	}
	if !s.RefreshToken.IsZero() {
		t.RefreshTokenExpiresAt = time.UnixMilli(int64(caspio.RefreshTokenExpiry(s)))
	}
	l := &lease{token: t, authorization: d.Lease.Authorization.Reveal(), validUntil: d.Lease.ValidUntil}
	c.lease.Store(l)
	return s, l
}

// unauthorized handles a 401 to a request that carried sent: the core drops the access
// token if sent carried the current one, and the stored copy goes at the next load.
func (c *Client) unauthorized(sent string) {
	c.mu.Lock()
	next, dropped := c.flow.Unauthorized(c.state, sent)
	if dropped {
		c.state = next
		c.lease.Store(nil)
		if len(c.revoked) >= 4 {
			c.revoked = append(c.revoked[:0], c.revoked[1:]...)
		}
		c.revoked = append(c.revoked, caspio.NewSecret(sent))
	}
	c.mu.Unlock()
	if dropped {
		c.emit(Event{Kind: EventRevoked})
	}
}

// load returns the state to start from: the stored one when it belongs to this client and
// is not older than the one in memory (another process may have refreshed), else memory's.
// With report, a store error or an unreadable state is reported as an event; a look before
// taking the lock passes false, so that the read under the lock reports it once.
func (c *Client) load(ctx context.Context, report bool) caspio.State {
	c.mu.Lock()
	mem := c.state
	c.mu.Unlock()
	sctx, cancel := context.WithTimeout(ctx, c.tokenTimeout)
	data, err := c.store.Load(sctx)
	cancel()
	if err != nil {
		if report {
			c.emit(Event{Kind: EventStoreError, Err: fmt.Errorf("caspio client: load token state: %w", err)})
		}
		return mem
	}
	if data == nil {
		return mem
	}
	stored, err := decodeState(data)
	if err != nil {
		if report {
			c.emit(Event{Kind: EventStateDiscarded, Err: err})
		}
		return mem
	}
	if !c.flow.Owns(stored) {
		return mem // another client's or endpoint's: ours replaces it at the next save
	}
	if c.flow.Owns(mem) && requests(stored) < requests(mem) {
		return mem // our last save failed: memory is newer
	}
	return stored
}

// requests counts a state's token requests: every response increments it, so of two states
// of one client the one with more requests is the newer.
func requests(s caspio.State) int {
	return s.Counters.ClientCredentialsRequests + s.Counters.RefreshRequests
}

// decodeState parses stored bytes. A JSON error is described by position only: the text
// around it could be part of a token.
func decodeState(data []byte) (caspio.State, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		problem := "is not valid JSON"
		var syntax *json.SyntaxError
		switch {
		case errors.As(err, &syntax) && syntax.Offset >= int64(len(bytes.TrimRight(data, " \t\r\n"))):
			problem += " (truncated)"
		case errors.As(err, &syntax):
			problem += " (syntax error at byte " + strconv.FormatInt(syntax.Offset, 10) + ")"
		}
		return caspio.State{}, &caspio.StateError{Problem: problem + "; it is replaced at the next save"}
	}
	return caspio.ParseState(v)
}

// save stores s; a failure is reported as an event and the token stays in memory.
func (c *Client) save(ctx context.Context, s caspio.State) {
	data, err := json.Marshal(s.Encode())
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, c.tokenTimeout)
		err = c.store.Save(sctx, data)
		cancel()
	}
	if err != nil {
		c.emit(Event{Kind: EventStoreError, Err: fmt.Errorf("caspio client: save token state: %w", err)})
	}
}

// perform sends a token request, without following redirects, and decodes its answer for
// the core.
func (c *Client) perform(ctx context.Context, req caspio.Request) caspio.Response {
	actx, cancel := context.WithTimeout(ctx, c.tokenTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(actx, req.Method, req.URL, strings.NewReader(req.Body.Reveal()))
	if err != nil {
		return caspio.Response{Err: err}
	}
	for name, value := range req.Header {
		hreq.Header.Set(name, value)
	}
	if !req.Authorization.IsZero() {
		hreq.Header.Set("Authorization", req.Authorization.Reveal())
	}
	var location string
	tc := *c.tokenClient
	tc.Transport = locationKeeper{base: c.base, location: &location}
	hresp, err := tc.Do(hreq)
	if err != nil {
		return caspio.Response{Err: c.attemptError(ctx, actx, err)}
	}
	defer hresp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(hresp.Body, maxTokenBody+1))
	if err != nil {
		return caspio.Response{Err: c.attemptError(ctx, actx, err)}
	}
	resp := caspio.Response{
		Status:      hresp.StatusCode,
		ContentType: hresp.Header.Get("Content-Type"),
		RetryAfter:  hresp.Header.Get("Retry-After"),
		Location:    location,
	}
	if len(body) > maxTokenBody || len(bytes.TrimSpace(body)) == 0 || json.Unmarshal(body, &resp.Body) != nil {
		resp.Body, resp.NotJSON = nil, true
	}
	return resp
}

// attemptError says when a transport error is this attempt's timeout.
func (c *Client) attemptError(ctx, attempt context.Context, err error) error {
	if ctx.Err() == nil && errors.Is(attempt.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer within the TokenTimeout of %s: %w", c.tokenTimeout, err)
	}
	return err
}
