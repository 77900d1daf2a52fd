package caspio

// Conversation is one thing a caller asked of a Machine (a token, a login, a refresh, a
// resource request), as the steps its driver performs. Step returns the step asked for;
// Next takes that step's result and returns the next step, until a done or fail step ends
// the conversation. Its methods are safe for concurrent use, but one conversation is meant
// for one driver loop.
//
// The zero Conversation, or one fed a result for another step than the one it asked for,
// fails with a *StepError: misuse never panics.
type Conversation struct {
	m     *Machine
	mode  mode
	step  Step
	ended bool
	steps int

	events []Event // for the next step
	landed int     // a flight that landed, for the next step

	// The acquisition: what it is for, the flight it runs or waits for, and how far it got.
	want      mode
	flight    *flight
	joined    *flight
	peeking   bool // the read under way is the look before the lock
	locked    bool
	attempt   int // token requests sent in this flight
	transient int // failures HandleTokenResponse may retry, as its attempt counts them
	action    Action
	grant     string
	lastErr   error
	after     outcome  // what the token response led to, once the state is written
	final     *outcome // the flight's outcome, once the lock is released

	// The resource request.
	req      ResourceRequest
	method   string
	url      string
	keepBody bool
	sent     string // the Authorization value of the last send; "" for none
	retried  bool   // sent again after a 401 already
	hops     int    // redirects followed
	resends  int    // sent again after a failure that may pass (429, 5xx, no answer)
}

// mode is what a conversation is for.
type mode string

const (
	modeToken        mode = "token"
	modeAuthenticate mode = "authenticate"
	modeRefresh      mode = "refresh"
	modeFetch        mode = "fetch"
)

// flight is one acquisition, run by one conversation and joined by the others that need a
// token meanwhile.
type flight struct {
	m         *Machine
	id        int
	mode      mode
	landed    bool
	abandoned bool // closed or misused before it ended: its joiners start over
	lease     Lease
	err       error
}

// outcome is how an acquisition, or one of its token requests, ended.
type outcome struct {
	lease Lease
	err   error
	retry bool
	wait  Millis
}

func (m *Machine) start(md mode, req *ResourceRequest, now UnixMilli) *Conversation {
	c := &Conversation{m: m, mode: md}
	if m == nil || m.settings == nil {
		c.ended = true
		c.step = Step{Kind: StepFail, Err: &StepError{Problem: "the machine has no settings; make it with NewMachine(settings, options)"}}
		return c
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if now <= 0 {
		c.set(c.fail(&StepError{Problem: "a conversation was started without the time (now must be Unix milliseconds)"}), now)
		return c
	}
	if md == modeFetch {
		c.req = *req
		c.set(c.startFetch(now), now)
		return c
	}
	c.want = md
	c.set(c.begin(now), now)
	return c
}

// Step returns the step the conversation asks for now, or the done or fail step it ended
// with.
func (c *Conversation) Step() Step {
	if c == nil || c.m == nil {
		return Step{Kind: StepFail, Err: &StepError{Problem: "the conversation was not started by a Machine"}}
	}
	if c.m.settings == nil {
		return c.step
	}
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	return c.step
}

// Next feeds the result of the step asked for and returns the next step. A result of
// another kind than that step's, one without its time, or any result after the end gives a
// fail step with a *StepError, and ends the conversation.
func (c *Conversation) Next(r Result) Step {
	if c == nil || c.m == nil || c.m.settings == nil {
		return Step{Kind: StepFail, Err: &StepError{Problem: "the conversation was not started by a Machine"}}
	}
	m := c.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.ended {
		return Step{Kind: StepFail, Err: &StepError{Problem: "a result " + kindName(r.Kind) + " was fed after the conversation ended; start another"}}
	}
	if r.Kind != c.step.Kind {
		return c.set(c.abort(&StepError{Problem: "a result " + kindName(r.Kind) + " was fed for a " + c.step.Kind + " step"}), r.Now)
	}
	if r.Now <= 0 {
		return c.set(c.abort(&StepError{Problem: "the " + r.Kind + " result has no time (Now must be Unix milliseconds)"}), r.Now)
	}
	if (r.Kind == StepTokenRequest || r.Kind == StepSend) && (r.Response.Status < 0 || r.Response.Status > 999) {
		return c.set(c.abort(&StepError{Problem: "the " + r.Kind + " result has the HTTP status " + itoa(r.Response.Status)}), r.Now)
	}
	if r.Kind == StepJoin && !c.joined.landed {
		if !takeOver(r.Silent) {
			again := c.step // still in flight: the same step, its events told already
			again.Events, again.Landed = nil, 0
			return again
		}
		c.joined.vanish() // its runner is gone: this joiner starts the acquisition again
	}
	if c.steps >= maxSteps && c.final == nil {
		return c.set(c.giveUp(), r.Now)
	}
	return c.set(c.advance(r), r.Now)
}

// Close ends the conversation where it is, and returns its fail step, whose Lease and
// Status are empty. A flight it runs lands without an outcome (the step's Landed: the
// driver wakes its joiners, which start over); a driver that took the store's lock for it
// releases the lock. Closing an ended conversation returns the step it ended with.
func (c *Conversation) Close() Step {
	if c == nil || c.m == nil || c.m.settings == nil {
		return c.Step()
	}
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	if c.ended {
		return c.step
	}
	c.abort(nil)
	return c.set(c.fail(&StepError{Problem: "the conversation was closed before it ended"}), 0)
}

// String describes the conversation without its secrets.
func (c *Conversation) String() string {
	if c == nil {
		return "caspio.Conversation{}"
	}
	return "caspio.Conversation{" + string(c.mode) + ", at " + c.step.Kind + "}"
}

// GoString is String, for %#v.
func (c *Conversation) GoString() string { return c.String() }

// set makes s the step asked for, with what the driver must know along with it.
func (c *Conversation) set(s Step, now UnixMilli) Step {
	m := c.m
	if s.Kind != StepJoin && c.flight != nil {
		s.Flight = c.flight.id
	}
	s.Landed, c.landed = c.landed, 0
	s.Events, c.events = c.events, nil
	if s.Kind == StepDone || s.Kind == StepFail {
		c.ended = true
		if now > 0 { // not after a misuse without the time, nor on Close
			if s.Kind == StepFail || c.mode == modeFetch {
				s.Lease, _ = m.lease(now)
			}
			s.Status = m.status(now)
		}
	}
	c.steps++
	c.step = s
	return s
}

func (c *Conversation) event(e Event) { c.events = append(c.events, e) }

// advance takes the result r of the step asked for, which it matches, and returns the next.
func (c *Conversation) advance(r Result) Step {
	m, now := c.m, r.Now
	switch r.Kind {
	case StepJoin:
		f := c.joined
		c.joined = nil
		if f.mode == c.want && !f.abandoned {
			if f.err != nil {
				return c.fail(f.err)
			}
			return c.leased(f.lease)
		}
		return c.begin(now) // it was another kind of acquisition, or it ended without an outcome

	case StepLock:
		if r.Err != nil {
			// Going on unlocked risks one extra token request; failing would lose the token.
			c.event(Event{Kind: EventStoreError, Err: r.Err})
		} else {
			c.locked = true
		}
		return m.storeStep(StepRead)

	case StepRead:
		c.adopt(r, !c.peeking)
		if c.peeking {
			c.peeking = false
			if l, ok := m.lease(now); ok {
				return c.land(outcome{lease: l})
			}
			return Step{Kind: StepLock, Timeout: m.lockTimeout()}
		}
		return c.loop(now)

	case StepTokenRequest:
		return c.tokenResponse(r)

	case StepWrite:
		if r.Err != nil {
			c.event(Event{Kind: EventStoreError, Err: r.Err})
		}
		switch a := c.after; {
		case a.retry && a.wait > 0:
			return Step{Kind: StepWait, Wait: a.wait}
		case a.retry:
			return c.loop(now)
		case a.err != nil:
			return c.land(outcome{err: a.err})
		}
		l, ok := m.lease(now)
		if !ok {
			return c.land(outcome{err: &TokenError{Code: KindNotUsable, Grant: c.grant, Problem: "the new access token gives no lease at the time the driver reported (its expiry, less the refresh margin, has passed): check the host's clock"}})
		}
		return c.land(outcome{lease: l})

	case StepWait:
		if c.mode == modeFetch && c.flight == nil {
			return c.resend(now)
		}
		return c.loop(now)

	case StepUnlock:
		if r.Err != nil {
			c.event(Event{Kind: EventStoreError, Err: r.Err})
		}
		c.locked = false
		o := *c.final
		c.final = nil
		return c.arrive(o)

	case StepSend:
		return c.response(r.Response, now, r.Jitter)
	}
	return c.abort(&StepError{Problem: "a result " + kindName(r.Kind) + " answers no step"})
}

// kindName names a result's kind for a message: one of the step kinds, or not (a driver's
// value is not shown, as errors.go says).
func kindName(kind string) string {
	switch kind {
	case StepTokenRequest, StepSend, StepLock, StepRead, StepWrite, StepUnlock, StepWait, StepJoin, StepDone, StepFail:
		return "of kind " + kind
	case "":
		return "without a kind"
	}
	return "of an unknown kind"
}

// begin gets the conversation a token of the mode it wants: the lease in memory, the
// outcome of the acquisition in flight, or an acquisition of its own.
func (c *Conversation) begin(now UnixMilli) Step {
	m := c.m
	if c.want == modeToken && !m.stale {
		if l, ok := m.lease(now); ok {
			return c.leased(l)
		}
	}
	if f := m.flight; f != nil {
		// One acquisition at a time: the same kind is shared, another kind waits its turn.
		c.joined = f
		return Step{Kind: StepJoin, Flight: f.id, Wait: JoinPoll}
	}
	switch {
	case c.want == modeAuthenticate && m.opts.Hold != "":
		return c.fail(heldError(GrantClientCredentials))
	case c.want == modeRefresh && m.opts.Hold == HoldAll:
		return c.fail(heldError(GrantRefreshToken))
	}
	m.flights++
	c.flight = &flight{m: m, id: m.flights, mode: c.want}
	m.flight = c.flight
	if !m.opts.Lock || m.opts.Hold == HoldAll {
		return m.storeStep(StepRead) // with HoldAll nothing is written: no lock is needed
	}
	if c.want == modeToken {
		// A shared store may hold a token another process got: then no lock is needed.
		// Taking it costs a system call for a file, and a round trip that every request of a
		// deployment queues behind for a Durable Object.
		c.peeking = true
		return m.storeStep(StepRead)
	}
	return Step{Kind: StepLock, Timeout: m.lockTimeout()}
}

// adopt takes the state read from the store when it is this client's and not older than
// the one in memory (a failed write leaves memory newer). A state that cannot be read is
// ignored, never fatal: the next write replaces it. report is false for the look before the
// lock, so that the read under the lock reports a problem once.
func (c *Conversation) adopt(r Result, report bool) {
	m := c.m
	m.stale = false
	if r.Err != nil {
		if report {
			kind := EventStoreError
			if isStateError(r.Err) {
				kind = EventStateDiscarded
			}
			c.event(Event{Kind: kind, Err: r.Err})
		}
		return
	}
	if r.Stored == nil {
		return
	}
	stored, err := ParseState(r.Stored)
	if err != nil {
		if report {
			c.event(Event{Kind: EventStateDiscarded, Err: err})
		}
		return
	}
	if !m.settings.Owns(stored) {
		return // another client's or endpoint's: ours replaces it at the next write
	}
	if m.settings.Owns(m.state) && compareInt(requests(stored), requests(m.state)) < 0 {
		return
	}
	m.state = m.clean(stored)
}

// loop asks for the next token request of the flight, or ends it: with the lease the state
// gives, or because the requests ran out or are held.
func (c *Conversation) loop(now UnixMilli) Step {
	m := c.m
	action := Authenticate
	switch c.want {
	case modeToken:
		d := m.settings.Decide(m.state, now)
		if d.Action == UseLease {
			return c.land(outcome{lease: d.Lease})
		}
		action = d.Action
	case modeRefresh:
		action = Refresh // TokenRequest logs in when there is no refresh token
	}
	if c.attempt >= maxTokenRequests {
		return c.land(outcome{err: &TokenError{Code: KindGaveUp, Grant: c.grant, Problem: "gave up after " + itoa(c.attempt) + " token requests", Cause: c.lastErr}})
	}
	req := m.settings.TokenRequest(action, m.state)
	if m.opts.Hold == HoldAll || m.opts.Hold == HoldLogin && req.Grant == GrantClientCredentials {
		return c.land(outcome{err: heldError(req.Grant)})
	}
	c.attempt++
	c.action, c.grant = action, req.Grant
	c.event(Event{Kind: EventTokenRequest, Grant: req.Grant, Attempt: c.attempt})
	return Step{Kind: StepTokenRequest, Request: req, Attempt: c.attempt, Timeout: m.opts.TokenTimeout}
}

// tokenResponse interprets a token response and asks for the state to be written: after
// every token response, since every one changes the counters, and most the tokens.
func (c *Conversation) tokenResponse(r Result) Step {
	m, now := c.m, r.Now
	res := m.settings.HandleTokenResponse(c.action, m.state, r.Response, now, c.transient, r.Jitter)
	err := res.Err
	if err == nil && m.isRevoked("Bearer "+res.State.AccessToken.Reveal()) {
		err = &TokenError{Code: KindReissued, Grant: c.grant, Problem: "the token endpoint answered the " + c.grant +
			" grant with the access token that a 401 from the resource endpoint has just refused; the server issues the same token again" +
			" (a token without a unique claim), or the 401 was not about the token: check the resource's permissions in the Web services profile"}
	}
	m.state = m.clean(res.State)
	status := r.Response.Status
	switch {
	case err == nil:
		kind := EventLogin
		if c.grant == GrantRefreshToken {
			kind = EventRefresh
		}
		c.event(Event{Kind: kind, Grant: c.grant, Attempt: c.attempt, Status: status, ExpiresAt: m.state.ExpiresAt})
		c.after = outcome{}
	case res.Retry && res.Err != nil:
		c.event(Event{Kind: EventTokenError, Grant: c.grant, Attempt: c.attempt, Status: status, Err: err})
		c.event(Event{Kind: EventRetry, Grant: c.grant, Attempt: c.attempt, Status: status, Wait: res.Wait, Err: err})
		c.lastErr = err
		if transient(status) {
			c.transient++
		}
		c.after = outcome{retry: true, wait: res.Wait}
	default:
		c.event(Event{Kind: EventTokenError, Grant: c.grant, Attempt: c.attempt, Status: status, Err: err})
		c.lastErr = err
		c.after = outcome{err: err}
	}
	m.state.Revision = requests(m.state)
	at, ttl := storeExpiry(m.state, now)
	return Step{Kind: StepWrite, State: m.written(m.state, now), ExpiresAt: at, TTL: ttl, Timeout: m.opts.TokenTimeout}
}

// transient reports whether a token response's status is a failure that may pass: none
// arrived, 429, or 5xx. HandleTokenResponse retries those at most MaxTokenRetries times;
// a refused refresh token is retried too (as a login), but not counted among them.
func transient(status int) bool { return status == 0 || status == 429 || status >= 500 }

func heldError(grant string) error {
	what := "a login (client_credentials grant)"
	if grant == GrantRefreshToken {
		what = "a refresh (refresh_token grant)"
	}
	return &TokenError{Code: KindHeld, Grant: grant, Problem: what + " is needed, and the client is told not to send token requests of that kind now (Hold); give it the client secret, or allow them"}
}

// land ends the flight with o, once the store's lock is released.
func (c *Conversation) land(o outcome) Step {
	if c.locked {
		c.final = &o
		return c.m.storeStep(StepUnlock)
	}
	return c.arrive(o)
}

// arrive ends the flight with o, wakes its joiners (through the next step's Landed) and
// goes on with o.
func (c *Conversation) arrive(o outcome) Step {
	c.endFlight(o, false)
	if o.err != nil {
		return c.fail(o.err)
	}
	return c.leased(o.lease)
}

// vanish ends a flight whose runner stopped showing life, without an outcome: its
// joiners start over, and whatever its runner does if it comes back changes nothing for
// them (see join.go).
func (f *flight) vanish() {
	f.landed, f.abandoned = true, true
	if f.m.flight == f {
		f.m.flight = nil
	}
}

func (c *Conversation) endFlight(o outcome, abandoned bool) {
	f := c.flight
	if f == nil {
		return
	}
	if !f.landed {
		f.landed, f.abandoned, f.lease, f.err = true, abandoned, o.lease, o.err
	}
	if c.m.flight == f {
		c.m.flight = nil
	}
	c.flight = nil
	c.landed = f.id
	c.attempt, c.transient, c.lastErr, c.final = 0, 0, nil, nil
}

// leased goes on with a lease: an acquisition hands it over, a resource request sends.
func (c *Conversation) leased(l Lease) Step {
	if c.mode == modeFetch {
		return c.send(l.Authorization.Reveal())
	}
	return Step{Kind: StepDone, Lease: l}
}

func (c *Conversation) fail(err error) Step { return Step{Kind: StepFail, Err: err} }

// abort ends the conversation at once with err (nil when it is closed): a flight it runs
// lands without an outcome, and its joiners start over.
func (c *Conversation) abort(err error) Step {
	c.endFlight(outcome{err: err}, true)
	c.joined, c.locked, c.peeking = nil, false, false
	return c.fail(err)
}

// giveUp ends a conversation that reached maxSteps, releasing the lock first.
func (c *Conversation) giveUp() Step {
	err := &TokenError{Code: KindGaveUp, Problem: "gave up after " + itoa(c.steps) + " steps"}
	if c.flight != nil {
		return c.land(outcome{err: err})
	}
	return c.fail(err)
}

// isStateError reports whether err is, or wraps, a *StateError. It walks Unwrap itself:
// errors.As links reflection into the WebAssembly build, about 54 KB for this one check.
func isStateError(err error) bool {
	for err != nil {
		if _, ok := err.(*StateError); ok {
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}
