package caspio

// Kinds of Step. Each names what the driver does next, and the Result it feeds back.
const (
	// StepTokenRequest: send Request to the token endpoint without following redirects,
	// waiting at most Timeout; feed the Response (Status 0 and Err when none arrived).
	StepTokenRequest = "token_request"
	// StepSend: send the caller's resource request to Request.URL with Request.Method,
	// with the Authorization header Request.Authorization (when it is zero, with none, not
	// even one the caller set), and with the caller's body if KeepBody. Do not follow
	// redirects (where the platform follows them itself, as a browser's fetch does, feed the
	// final response). Feed the Response's Status and Location, or Err when none arrived.
	StepSend = "send"
	// StepLock: take the store's lock, waiting at most Timeout; feed Err if it failed. A
	// store whose lock lapses by itself holds and waits for it as StoreLock says.
	StepLock = "lock"
	// StepRead: read the store within Timeout; feed the state decoded from JSON as Stored
	// (nil when nothing is stored), or Err: a *StateError when the stored text is not JSON.
	StepRead = "read"
	// StepWrite: store State.Encode() as JSON within Timeout; a store that expires entries
	// drops it at ExpiresAt (after TTL). Feed Err if it failed.
	StepWrite = "write"
	// StepUnlock: release the store's lock within Timeout; feed Err if it failed.
	StepUnlock = "unlock"
	// StepWait: sleep Wait; feed an empty result.
	StepWait = "wait"
	// StepJoin: wait until flight Flight has landed (a step of the conversation running it
	// says so in Landed), or at most Wait, then feed a result with Silent. A result fed
	// while the flight is still in flight gives the same join step again, so a driver may
	// check again at any time; one whose Silent says the flight's runner vanished takes the
	// flight over (join.go).
	StepJoin = "join"
	// StepDone: the conversation ended well. An acquisition hands Lease to its caller; a
	// resource request hands back the response of its last send.
	StepDone = "done"
	// StepFail: the conversation ended with Err.
	StepFail = "fail"
)

// Step is what a conversation asks its driver to do next; Kind says which fields are set.
// Every step can be told in plain values (see Encode), so that a driver in another language
// can perform it.
type Step struct {
	Kind string

	// Flight is, for join, the flight to wait for; for any other step, the acquisition that
	// this conversation runs (0 for none). A driver runs a conversation that runs a flight
	// to its end even when its own caller stops waiting, or closes it: others wait on it.
	Flight int
	// Landed is a flight that landed (ended) with this step: before performing it, the
	// driver wakes the conversations that wait on that flight.
	Landed int

	// Request is the request of a token_request (Grant set) or a send step.
	Request Request
	// KeepBody, for send: send the caller's body. False once a redirect turned the request
	// into a GET: send no body, and none of the Content-* headers that described it.
	KeepBody bool
	// Hops, for send: the redirects followed to reach Request.URL, 0 for the request as the
	// caller made it. A driver whose caller may veto a redirect (Go's CheckRedirect) asks
	// before a send with more hops than the one before.
	Hops int
	// Attempt, for token_request: the token request's number in this acquisition, from 1.
	Attempt int
	// Timeout, for token_request, lock, read, write and unlock: the longest the driver
	// waits (a store step that takes longer fails with an error naming the store).
	Timeout Millis
	// Wait, for wait: how long to sleep; for join: the longest to wait before feeding the
	// result again (JoinPoll).
	Wait Millis

	// State, for write: the state to store (see State.Encode).
	State State
	// ExpiresAt, for write: when a store that expires entries may drop the state; TTL is
	// the span until then in whole seconds, at least a minute. Both are zero for a state
	// to keep without expiry.
	ExpiresAt UnixMilli
	TTL       Millis

	// Lease, for done and fail: the lease the driver may keep using without calling the
	// machine (see Machine.Lease); zero when there is none, and the driver drops the one it
	// holds.
	Lease Lease
	// Status, for done and fail: the status at the end.
	Status Status
	// Err, for fail: why.
	Err error

	// Events are what happened since the last step, in order, for the driver's observers.
	Events []Event
}

// String describes the step without its secrets.
func (s Step) String() string {
	out := "caspio.Step{" + s.Kind
	switch s.Kind {
	case StepTokenRequest, StepSend:
		out += " " + s.Request.Method + " " + s.Request.URL
	case StepWait:
		out += " " + formatInt(int64(s.Wait)) + "ms"
	case StepJoin:
		out += " flight " + itoa(s.Flight)
	case StepFail:
		if s.Err != nil {
			out += ": " + s.Err.Error()
		}
	}
	return out + "}"
}

// GoString is String, for %#v.
func (s Step) GoString() string { return s.String() }

// Encode returns the step as a decoded-JSON value (map[string]any with string, float64,
// bool and nil leaves), in the form the shared conversation vectors and the JS driver use:
// "kind", then the fields of that kind in snake case, spans in "_ms". It reveals the
// credentials a request carries and the tokens a state holds: the driver must send them.
func (s Step) Encode() map[string]any {
	e := newMapEncoder()
	s.encode(e)
	return e.root
}

// AppendJSON appends Encode's value as JSON text to dst, without building it: the
// WebAssembly driver hands a step to JavaScript as one string. Like Encode, it reveals the
// credentials and tokens the step carries.
func (s Step) AppendJSON(dst []byte) []byte {
	e := &jsonEncoder{b: append(dst, '{')}
	s.encode(e)
	return append(e.b, '}')
}

// encode tells the step's fields, once for Encode and AppendJSON.
func (s Step) encode(e encoder) {
	e.str("kind", s.Kind)
	if s.Flight != 0 {
		e.num("flight", int64(s.Flight))
	}
	if s.Landed != 0 {
		e.num("landed", int64(s.Landed))
	}
	if s.Flight != 0 && s.Kind != StepJoin {
		// While performing a step of its flight, the driver marks the flight alive this often.
		e.num("beat_ms", int64(FlightBeat))
	}
	switch s.Kind {
	case StepTokenRequest:
		e.str("method", s.Request.Method)
		e.str("url", s.Request.URL)
		e.object("headers")
		for name, value := range s.Request.Header {
			if name != "Authorization" || s.Request.Authorization.IsZero() {
				e.str(name, value)
			}
		}
		if !s.Request.Authorization.IsZero() {
			e.str("Authorization", s.Request.Authorization.Reveal())
		}
		e.end()
		e.str("body", s.Request.Body.Reveal())
		e.str("grant", s.Request.Grant)
		e.num("attempt", int64(s.Attempt))
		e.num("timeout_ms", int64(s.Timeout))
	case StepSend:
		e.str("method", s.Request.Method)
		e.str("url", s.Request.URL)
		e.flag("keep_body", s.KeepBody)
		if !s.KeepBody {
			// Which headers go with the body: the core's list (BodyHeaders), for every driver.
			e.list("drop_headers")
			for _, h := range BodyHeaders {
				e.str("", h)
			}
			e.end()
		}
		e.str("authorization", s.Request.Authorization.Reveal())
		if s.Hops > 0 {
			e.num("hops", int64(s.Hops))
		}
	case StepLock:
		e.num("timeout_ms", int64(s.Timeout))
		// The policy of a lock that lapses (StoreLock), for the JS stores that hold one, as
		// values they only look up: the TTL and extension, the pause schedule (Pauses) and
		// the ages up to which a lock is honoured (StaleAfter).
		p := StoreLock()
		e.num("lock_ttl_ms", int64(p.TTL))
		e.num("lock_extend_ms", int64(p.Extend))
		e.list("lock_pauses_ms")
		for _, pause := range p.Pauses() {
			e.list("")
			e.num("", int64(pause[0]))
			e.num("", int64(pause[1]))
			e.end()
		}
		e.end()
		e.object("lock_stale_ms")
		e.num("held", int64(p.StaleAfter(SeenLock{})))
		e.num("holder_gone", int64(p.StaleAfter(SeenLock{HolderGone: true})))
		e.num("unreadable", int64(p.StaleAfter(SeenLock{Unreadable: true})))
		e.end()
	case StepRead, StepUnlock:
		e.num("timeout_ms", int64(s.Timeout))
	case StepWait, StepJoin:
		e.num("wait_ms", int64(s.Wait))
	case StepWrite:
		encodeValue(e, "state", s.State.Encode())
		e.num("expires_at", int64(s.ExpiresAt))
		e.num("ttl_ms", int64(s.TTL))
		e.num("timeout_ms", int64(s.Timeout))
	case StepDone, StepFail:
		if s.Lease.Authorization.IsZero() {
			e.null("lease")
		} else {
			e.object("lease")
			e.str("authorization", s.Lease.Authorization.Reveal())
			e.num("valid_until", int64(s.Lease.ValidUntil))
			e.end()
		}
		e.object("status")
		s.Status.encode(e)
		e.end()
		if s.Kind == StepFail {
			encodeErrorField(e, "error", s.Err)
		}
	}
	if len(s.Events) > 0 {
		e.list("events")
		for _, ev := range s.Events {
			e.object("")
			ev.encode(e)
			e.end()
		}
		e.end()
	}
}

// Encode returns the status as a decoded-JSON value; absent instants are null.
func (s Status) Encode() map[string]any {
	e := newMapEncoder()
	s.encode(e)
	return e.root
}

// AppendJSON appends Encode's value as JSON text to dst.
func (s Status) AppendJSON(dst []byte) []byte {
	e := &jsonEncoder{b: append(dst, '{')}
	s.encode(e)
	return append(e.b, '}')
}

func (s Status) encode(e encoder) {
	instant := func(key string, t UnixMilli) {
		if t == 0 {
			e.null(key)
		} else {
			e.num(key, int64(t))
		}
	}
	e.num("refresh_margin_ms", int64(s.RefreshMargin))
	instant("access_token_expires_at", s.AccessTokenExpiresAt)
	instant("lease_valid_until", s.LeaseValidUntil)
	instant("refresh_token_expires_at", s.RefreshTokenExpiresAt)
	e.str("next", string(s.Next))
	e.object("counters")
	e.num("client_credentials_requests", int64(s.Counters.ClientCredentialsRequests))
	e.num("refresh_token_requests", int64(s.Counters.RefreshRequests))
	e.num("logins", int64(s.Counters.Logins))
	e.num("refreshes", int64(s.Counters.Refreshes))
	e.end()
	e.num("unauthorized_retries", int64(s.UnauthorizedRetries))
	e.num("revoked", int64(s.Revoked))
	e.str("acquiring", s.Acquiring)
	e.str("hold", s.Hold)
}

// Kinds of Event, the same in every runtime.
const (
	EventTokenRequest   = "token_request"   // a token request is to be sent (Grant, Attempt)
	EventLogin          = "login"           // a client_credentials grant succeeded (ExpiresAt)
	EventRefresh        = "refresh"         // a refresh_token grant succeeded (ExpiresAt)
	EventTokenError     = "token_error"     // a token request failed (Status, Err)
	EventRetry          = "retry"           // the failed token request is tried again after Wait
	EventRevoked        = "revoked"         // a 401 to a resource request refused an access token: drivers drop the lease they hold
	EventResourceRetry  = "resource_retry"  // the resource request is sent again after Wait (Attempt, Status, Err)
	EventStateDiscarded = "state_discarded" // the stored state could not be read and was ignored (Err)
	EventStoreError     = "storage_error"   // the store or its lock failed; the token stays in memory (Err)
)

// Event reports what a conversation did with the tokens, for logs and metrics. It holds no
// secret: no credential or token is in any field or in Err's message.
type Event struct {
	Kind      string
	Grant     string    // "client_credentials" or "refresh_token", for token events
	Attempt   int       // the token request's number in its acquisition, from 1
	Status    int       // the HTTP status of the token response; 0 when none arrived
	ExpiresAt UnixMilli // the new access token's expiry, for login and refresh
	Wait      Millis    // how long until the retry, for retry
	Err       error     // why, for token_error, retry, state_discarded and storage_error
}

// Encode returns the event as a decoded-JSON value, with only the fields of its kind.
func (e Event) Encode() map[string]any {
	enc := newMapEncoder()
	e.encode(enc)
	return enc.root
}

func (e Event) encode(enc encoder) {
	enc.str("kind", e.Kind)
	if e.Grant != "" {
		enc.str("grant", e.Grant)
	}
	if e.Attempt != 0 {
		enc.num("attempt", int64(e.Attempt))
	}
	switch e.Kind {
	case EventLogin, EventRefresh:
		enc.num("status", int64(e.Status))
		enc.num("expires_at", int64(e.ExpiresAt))
	case EventTokenError:
		enc.num("status", int64(e.Status))
	case EventRetry, EventResourceRetry:
		enc.num("status", int64(e.Status))
		enc.num("wait_ms", int64(e.Wait))
	}
	if e.Err != nil {
		encodeErrorField(enc, "error", e.Err)
	}
}

// Result is what the driver feeds back for a step: Kind and Now always, and the fields of
// that kind of step (see the Step* constants).
type Result struct {
	Kind string    // the Kind of the step it answers
	Now  UnixMilli // when the step ended
	// Jitter, for token_request, is a random number in [0, 1) that spreads the retries of
	// many clients.
	Jitter float64
	// Silent, for join, is how long the conversation running the flight has shown no life
	// (see FlightBeat), as the driver saw it; 0 from a driver whose conversations cannot
	// vanish (one that runs each to its end or closes it).
	Silent Millis
	// Response is what arrived for a token_request or a send (a send's Status and Location
	// are read); Status 0, with Err, when nothing did.
	Response Response
	// Stored, for read, is the stored state decoded from JSON; nil when nothing is stored.
	Stored any
	// Err is the store's failure for lock, read, write and unlock; for read, a *StateError
	// when the stored text is not JSON.
	Err error
}

// String describes the result without its contents, which may hold tokens.
func (r Result) String() string {
	out := "caspio.Result{" + r.Kind + " at " + formatInt(int64(r.Now))
	if r.Response.Status != 0 {
		out += ", status " + itoa(r.Response.Status)
	}
	if r.Err != nil {
		out += ", error"
	}
	return out + "}"
}

// GoString is String, for %#v.
func (r Result) GoString() string { return r.String() }

// ParseResult reads a result given as a decoded-JSON value, as a driver in another language
// hands it over: {"kind", "now", "jitter", "silent_ms", "response": {"status", "content_type", "body",
// "not_json", "retry_after", "location", "url", "error"}, "stored", "error", "error_kind"}. Errors
// cross as their messages; "error_kind": "STATE_INVALID" makes a read's error a
// *StateError. A value of the wrong shape gives a *StepError naming the field.
func ParseResult(v any) (Result, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Result{}, &StepError{Problem: "a result must be an object, not " + jsonKind(v)}
	}
	var r Result
	if r.Kind, ok = m["kind"].(string); !ok {
		return Result{}, badResult("kind", "the kind of the step it answers", m["kind"])
	}
	now, ok := m["now"].(float64)
	if !ok {
		return Result{}, badResult("now", "a number of Unix milliseconds", m["now"])
	}
	r.Now = UnixMilli(now)
	if j, present := m["jitter"]; present && j != nil {
		if r.Jitter, ok = j.(float64); !ok {
			return Result{}, badResult("jitter", "a number", j)
		}
	}
	if x, present := m["silent_ms"]; present && x != nil {
		silent, ok := x.(float64)
		if !ok || silent < 0 {
			return Result{}, badResult("silent_ms", "a number of milliseconds, 0 or more", x)
		}
		r.Silent = Millis(silent)
	}
	msg, err := resultString(m, "error", "", "a message")
	if err != nil {
		return Result{}, err
	}
	if msg != "" || m["error"] != nil {
		if kind, _ := m["error_kind"].(string); kind == KindState {
			r.Err = &StateError{Problem: msg}
		} else {
			r.Err = hostError(msg)
		}
	}
	r.Stored = m["stored"]
	resp, present := m["response"]
	if !present || resp == nil {
		return r, nil
	}
	rm, ok := resp.(map[string]any)
	if !ok {
		return Result{}, badResult("response", "an object", resp)
	}
	status, ok := rm["status"].(float64)
	if !ok {
		return Result{}, badResult("response.status", "a number", rm["status"])
	}
	r.Response.Status = int(status)
	if r.Response.ContentType, err = resultString(rm, "content_type", "response.", "a string"); err != nil {
		return Result{}, err
	}
	if r.Response.RetryAfter, err = resultString(rm, "retry_after", "response.", "a string"); err != nil {
		return Result{}, err
	}
	if r.Response.Location, err = resultString(rm, "location", "response.", "a string"); err != nil {
		return Result{}, err
	}
	if r.Response.URL, err = resultString(rm, "url", "response.", "a string"); err != nil {
		return Result{}, err
	}
	r.Response.Body = rm["body"]
	r.Response.NotJSON, _ = rm["not_json"].(bool)
	if msg, err = resultString(rm, "error", "response.", "a message"); err != nil {
		return Result{}, err
	}
	if msg != "" || rm["error"] != nil {
		r.Response.Err = hostError(msg)
	}
	return r, nil
}

// resultString reads the optional string m[key] ("" when absent or null) of a result, whose
// field is named prefix+key in the error.
func resultString(m map[string]any, key, prefix, want string) (string, error) {
	x, present := m[key]
	if !present || x == nil {
		return "", nil
	}
	s, ok := x.(string)
	if !ok {
		return "", badResult(prefix+key, want, x)
	}
	return s, nil
}

func badResult(field, want string, got any) error {
	return &StepError{Problem: "result field " + field + " must be " + want + ", not " + jsonKind(got)}
}

// hostError is an error that a host reported by its message.
type hostError string

func (e hostError) Error() string { return string(e) }
