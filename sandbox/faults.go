package sandbox

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Fault replaces the normal handling of the next Count requests whose path starts with
// Route. Faults are queued in order; a request takes the first queued fault whose Route
// matches it. CORS preflights (OPTIONS) and the control API are never faulted.
type Fault struct {
	// Route is a path prefix, such as "/oauth/token" or "/rest/v2/tables". Required.
	Route string `json:"route"`
	// Count is how many requests the fault applies to. If zero, 1.
	Count int `json:"count"`
	// Status is the HTTP status to answer. If zero and Body is nil, the request is
	// handled normally after the delay (a pure delay). If zero and Body is set, 200.
	Status int `json:"status"`
	// DelayMS is how long to wait before answering, in milliseconds, capped at 60 s. The
	// wait ends early if the client goes away.
	DelayMS int `json:"delay_ms"`
	// Body is sent verbatim. If nil, a default error body shaped for the route: an OAuth
	// error on the token endpoint, a Caspio error elsewhere.
	Body *string `json:"body"`
	// ContentType of the answer. If empty, application/json.
	ContentType string `json:"content_type"`
	// RetryAfter, if set, is sent as the Retry-After header.
	RetryAfter string `json:"retry_after"`
	// Location, if set, is sent as the Location header (to test redirects).
	Location string `json:"location"`
	// Drop closes the connection without any response, after the delay.
	Drop bool `json:"drop"`
}

const (
	maxFaultDelay = 60 * time.Second
	maxFaults     = 1000
)

type routeKind int

const (
	routeToken routeKind = iota
	routeResource
	routeOther
)

// InjectFault queues f. It returns an error naming the field when f is not valid.
func (s *Server) InjectFault(f Fault) error {
	return s.injectFaults([]Fault{f})
}

// injectFaults validates all of fs before it queues any of them.
func (s *Server) injectFaults(fs []Fault) error {
	for i := range fs {
		if err := normalizeFault(&fs[i]); err != nil {
			if len(fs) > 1 {
				return fmt.Errorf("fault %d: %w", i, err)
			}
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults)+len(fs) > maxFaults {
		return fmt.Errorf("at most %d faults may be queued; clear them with DELETE /__sandbox/faults", maxFaults)
	}
	s.faults = append(s.faults, fs...)
	return nil
}

func normalizeFault(f *Fault) error {
	switch {
	case !strings.HasPrefix(f.Route, "/"):
		return errors.New(`route must be a path prefix starting with "/", such as "/oauth/token"`)
	case hasPathPrefix(f.Route, controlPrefix):
		return errors.New("route must not be under /__sandbox/: the control API is never faulted")
	case f.Count < 0:
		return errors.New("count must be 1 or more (0 means 1)")
	case f.Status != 0 && (f.Status < 200 || f.Status > 599):
		return errors.New("status must be between 200 and 599, or 0 for a pure delay")
	case f.DelayMS < 0:
		return errors.New("delay_ms must not be negative")
	}
	for name, v := range map[string]string{"content_type": f.ContentType, "retry_after": f.RetryAfter, "location": f.Location} {
		if strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			return fmt.Errorf("%s must not contain control characters such as line breaks", name)
		}
	}
	if f.Count == 0 {
		f.Count = 1
	}
	if f.DelayMS > int(maxFaultDelay/time.Millisecond) {
		f.DelayMS = int(maxFaultDelay / time.Millisecond)
	}
	return nil
}

// takeFault dequeues one use of the first fault matching r, if any.
func (s *Server) takeFault(r *http.Request) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		if !strings.HasPrefix(r.URL.Path, f.Route) {
			continue
		}
		taken := *f
		f.Count--
		if f.Count <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return taken, true
	}
	return Fault{}, false
}

// queuedFaults returns a copy of the queue, Count being what remains of each.
func (s *Server) queuedFaults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Fault{}, s.faults...)
}

func (s *Server) clearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// applyFault carries out f in place of normal handling. It returns false when the
// request should go on to normal handling (a pure delay).
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault, kind routeKind, requestID string) bool {
	if f.DelayMS > 0 {
		t := time.NewTimer(time.Duration(f.DelayMS) * time.Millisecond)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true // the client is gone; nobody will read an answer
		}
	}
	if f.Drop {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			// HTTP/2 or a recorder cannot hijack; aborting the handler is the nearest
			// thing net/http offers to a dropped connection.
			panic(http.ErrAbortHandler)
		}
		_ = conn.Close()
		return true
	}
	if f.Status == 0 && f.Body == nil {
		return false
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	h := w.Header()
	if f.RetryAfter != "" {
		h.Set("Retry-After", f.RetryAfter)
	}
	if f.Location != "" {
		h.Set("Location", f.Location)
	}
	if kind == routeResource && status == http.StatusUnauthorized {
		s.mu.Lock()
		s.stats.Unauthorized++
		s.mu.Unlock()
	}
	if f.Body == nil {
		s.writeDefaultFaultBody(w, r, status, kind, requestID)
		return true
	}
	ct := f.ContentType
	if ct == "" {
		ct = "application/json"
	}
	h.Set("Content-Type", ct)
	w.WriteHeader(status)
	if bodyAllowed(status) {
		_, _ = w.Write([]byte(*f.Body))
	}
	return true
}

func (s *Server) writeDefaultFaultBody(w http.ResponseWriter, r *http.Request, status int, kind routeKind, requestID string) {
	if !bodyAllowed(status) {
		w.WriteHeader(status)
		return
	}
	desc := fmt.Sprintf("injected fault: HTTP %d %s", status, http.StatusText(status))
	if kind == routeToken {
		code := "server_error"
		switch {
		case status == http.StatusUnauthorized:
			code = "invalid_client"
		case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
			code = "temporarily_unavailable"
		case status >= 400 && status < 500:
			code = "invalid_request"
		}
		writeOAuthError(w, status, code, desc)
		return
	}
	code := "InternalServerError"
	switch status {
	case http.StatusBadRequest:
		code = "IncorrectQueryParameter"
	case http.StatusUnauthorized:
		code = "Unauthorized"
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	case http.StatusForbidden:
		code = "UnsufficientPrivileges"
	case http.StatusNotFound:
		code = "ObjectNotFound"
	case http.StatusTooManyRequests:
		code = "TooManyRequests"
	case http.StatusServiceUnavailable:
		code = "ServiceUnavailable"
	}
	if requestID == "" {
		requestID = newRequestID()
	}
	writeCaspioError(w, status, code, desc, r.URL.Path, requestID)
}

func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}
