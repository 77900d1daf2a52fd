package caspio

import "strconv"

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
	// StepLock: take the store's lock, waiting at most Timeout; feed Err if it failed.
	StepLock = "lock"
	// StepRead: read the store; feed the state decoded from JSON as Stored (nil when
	// nothing is stored), or Err: a *StateError when the stored text is not JSON.
	StepRead = "read"
	// StepWrite: store State.Encode() as JSON; a store that expires entries drops it at
	// ExpiresAt (after TTL). Feed Err if it failed.
	StepWrite = "write"
	// StepUnlock: release the store's lock; feed Err if it failed.
	StepUnlock = "unlock"
	// StepWait: sleep Wait; feed an empty result.
	StepWait = "wait"
	// StepJoin: wait until flight Flight has landed (a step of the conversation running it
	// says so in Landed), then feed an empty result. A result fed while the flight is still
	// in flight gives the same join step again, so a driver may check again at any time.
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
	// Timeout, for token_request and lock: the longest the driver waits.
	Timeout Millis
	// Wait, for wait: how long to sleep.
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
		out += " " + strconv.FormatInt(int64(s.Wait), 10) + "ms"
	case StepJoin:
		out += " flight " + strconv.Itoa(s.Flight)
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
	m := map[string]any{"kind": s.Kind}
	if s.Flight != 0 {
		m["flight"] = float64(s.Flight)
	}
	if s.Landed != 0 {
		m["landed"] = float64(s.Landed)
	}
	switch s.Kind {
	case StepTokenRequest:
		headers := map[string]any{}
		for name, value := range s.Request.Header {
			headers[name] = value
		}
		if !s.Request.Authorization.IsZero() {
			headers["Authorization"] = s.Request.Authorization.Reveal()
		}
		m["method"], m["url"], m["headers"], m["body"] = s.Request.Method, s.Request.URL, headers, s.Request.Body.Reveal()
		m["grant"], m["attempt"], m["timeout_ms"] = s.Request.Grant, float64(s.Attempt), float64(s.Timeout)
	case StepSend:
		m["method"], m["url"], m["keep_body"] = s.Request.Method, s.Request.URL, s.KeepBody
		m["authorization"] = s.Request.Authorization.Reveal()
		if s.Hops > 0 {
			m["hops"] = float64(s.Hops)
		}
	case StepLock:
		m["timeout_ms"] = float64(s.Timeout)
	case StepWait:
		m["wait_ms"] = float64(s.Wait)
	case StepWrite:
		m["state"] = s.State.Encode()
		m["expires_at"], m["ttl_ms"] = float64(s.ExpiresAt), float64(s.TTL)
	case StepDone, StepFail:
		m["lease"] = encodeLease(s.Lease)
		m["status"] = s.Status.Encode()
		if s.Kind == StepFail {
			m["error"] = EncodeError(s.Err)
		}
	}
	if len(s.Events) > 0 {
		events := make([]any, len(s.Events))
		for i, e := range s.Events {
			events[i] = e.Encode()
		}
		m["events"] = events
	}
	return m
}

func encodeLease(l Lease) any {
	if l.Authorization.IsZero() {
		return nil
	}
	return map[string]any{"authorization": l.Authorization.Reveal(), "valid_until": float64(l.ValidUntil)}
}

// Encode returns the status as a decoded-JSON value; absent instants are null.
func (s Status) Encode() map[string]any {
	instant := func(t UnixMilli) any {
		if t == 0 {
			return nil
		}
		return float64(t)
	}
	return map[string]any{
		"refresh_margin_ms":        float64(s.RefreshMargin),
		"access_token_expires_at":  instant(s.AccessTokenExpiresAt),
		"lease_valid_until":        instant(s.LeaseValidUntil),
		"refresh_token_expires_at": instant(s.RefreshTokenExpiresAt),
		"next":                     string(s.Next),
		"counters": map[string]any{
			"client_credentials_requests": float64(s.Counters.ClientCredentialsRequests),
			"refresh_token_requests":      float64(s.Counters.RefreshRequests),
			"logins":                      float64(s.Counters.Logins),
			"refreshes":                   float64(s.Counters.Refreshes),
		},
		"unauthorized_retries": float64(s.UnauthorizedRetries),
		"revoked":              float64(s.Revoked),
		"acquiring":            s.Acquiring,
		"hold":                 s.Hold,
	}
}

// Kinds of Event, the same in every runtime.
const (
	EventTokenRequest   = "token_request"   // a token request is to be sent (Grant, Attempt)
	EventLogin          = "login"           // a client_credentials grant succeeded (ExpiresAt)
	EventRefresh        = "refresh"         // a refresh_token grant succeeded (ExpiresAt)
	EventTokenError     = "token_error"     // a token request failed (Status, Err)
	EventRetry          = "retry"           // the failed token request is tried again after Wait
	EventRevoked        = "revoked"         // a 401 to a resource request refused an access token
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
	m := map[string]any{"kind": e.Kind}
	if e.Grant != "" {
		m["grant"] = e.Grant
	}
	if e.Attempt != 0 {
		m["attempt"] = float64(e.Attempt)
	}
	switch e.Kind {
	case EventLogin, EventRefresh:
		m["status"], m["expires_at"] = float64(e.Status), float64(e.ExpiresAt)
	case EventTokenError:
		m["status"] = float64(e.Status)
	case EventRetry:
		m["status"], m["wait_ms"] = float64(e.Status), float64(e.Wait)
	}
	if e.Err != nil {
		m["error"] = EncodeError(e.Err)
	}
	return m
}

// Result is what the driver feeds back for a step: Kind and Now always, and the fields of
// that kind of step (see the Step* constants).
type Result struct {
	Kind string    // the Kind of the step it answers
	Now  UnixMilli // when the step ended
	// Jitter, for token_request, is a random number in [0, 1) that spreads the retries of
	// many clients.
	Jitter float64
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
	out := "caspio.Result{" + r.Kind + " at " + strconv.FormatInt(int64(r.Now), 10)
	if r.Response.Status != 0 {
		out += ", status " + strconv.Itoa(r.Response.Status)
	}
	if r.Err != nil {
		out += ", error"
	}
	return out + "}"
}

// GoString is String, for %#v.
func (r Result) GoString() string { return r.String() }

// ParseResult reads a result given as a decoded-JSON value, as a driver in another language
// hands it over: {"kind", "now", "jitter", "response": {"status", "content_type", "body",
// "not_json", "retry_after", "location", "error"}, "stored", "error", "error_kind"}. Errors
// cross as their messages; "error_kind": "STATE_INVALID" makes a read's error a
// *StateError. A value of the wrong shape gives a *StepError naming the field.
func ParseResult(v any) (Result, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Result{}, &StepError{Problem: "a result must be an object, not " + jsonKind(v)}
	}
	bad := func(field, want string, got any) (Result, error) {
		return Result{}, &StepError{Problem: "result field " + field + " must be " + want + ", not " + jsonKind(got)}
	}
	var r Result
	if r.Kind, ok = m["kind"].(string); !ok {
		return bad("kind", "the kind of the step it answers", m["kind"])
	}
	now, ok := m["now"].(float64)
	if !ok {
		return bad("now", "a number of Unix milliseconds", m["now"])
	}
	r.Now = UnixMilli(now)
	if j, present := m["jitter"]; present && j != nil {
		if r.Jitter, ok = j.(float64); !ok {
			return bad("jitter", "a number", j)
		}
	}
	if msg, present := m["error"]; present && msg != nil {
		text, ok := msg.(string)
		if !ok {
			return bad("error", "a message", msg)
		}
		if kind, _ := m["error_kind"].(string); kind == KindState {
			r.Err = &StateError{Problem: text}
		} else {
			r.Err = hostError(text)
		}
	}
	r.Stored = m["stored"]
	if resp, present := m["response"]; present && resp != nil {
		rm, ok := resp.(map[string]any)
		if !ok {
			return bad("response", "an object", resp)
		}
		status, ok := rm["status"].(float64)
		if !ok {
			return bad("response.status", "a number", rm["status"])
		}
		r.Response.Status = int(status)
		for key, dst := range map[string]*string{
			"content_type": &r.Response.ContentType, "retry_after": &r.Response.RetryAfter, "location": &r.Response.Location,
		} {
			if x, present := rm[key]; present && x != nil {
				if *dst, ok = x.(string); !ok {
					return bad("response."+key, "a string", x)
				}
			}
		}
		r.Response.Body = rm["body"]
		r.Response.NotJSON, _ = rm["not_json"].(bool)
		if msg, present := rm["error"]; present && msg != nil {
			text, ok := msg.(string)
			if !ok {
				return bad("response.error", "a message", msg)
			}
			r.Response.Err = hostError(text)
		}
	}
	return r, nil
}

// hostError is an error that a host reported by its message.
type hostError string

func (e hostError) Error() string { return string(e) }
