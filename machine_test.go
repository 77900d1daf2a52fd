package caspio_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
)

const machineNow = caspio.UnixMilli(1_700_000_000_000)

func newTestMachine(t testing.TB, opts caspio.Options) *caspio.Machine {
	t.Helper()
	settings, err := caspio.NewSettings(caspio.Config{Account: "c1abc123", ClientID: "id-1", ClientSecret: caspio.NewSecret("SECRET-1")})
	require.NoError(t, err)
	m, err := caspio.NewMachine(settings, opts)
	require.NoError(t, err)
	return m
}

// world is what a test driver performs steps against: a token endpoint, a resource
// endpoint and a store, all in memory, and a clock that only moves when told.
type world struct {
	mu         sync.Mutex
	now        caspio.UnixMilli
	stored     []byte
	locked     bool
	logins     int
	refreshes  int
	sends      int
	tokenReply func(grant string, n int) caspio.Response // n counts the token requests, from 1
	sendReply  func(authorization string) int
	landed     chan struct{} // closed and replaced whenever a flight lands
}

func newWorld() *world {
	w := &world{now: machineNow, landed: make(chan struct{})}
	w.tokenReply = func(grant string, n int) caspio.Response {
		return caspio.Response{Status: 200, Body: map[string]any{
			"access_token": fmt.Sprintf("SECRET-at%d", n), "token_type": "bearer", "expires_in": float64(86399),
			"refresh_token": fmt.Sprintf("SECRET-rt%d", n),
		}}
	}
	w.sendReply = func(string) int { return 200 }
	return w
}

// run is a driver loop, as client/ may have it: perform each step, feed the result, until
// done or fail. A join waits for the next landing of any flight, taking that signal before
// it asks again, so that a flight that lands in between is not missed.
func (w *world) run(c *caspio.Conversation) caspio.Step {
	step := c.Step()
	for {
		if step.Landed != 0 {
			w.mu.Lock()
			close(w.landed)
			w.landed = make(chan struct{})
			w.mu.Unlock()
		}
		w.mu.Lock()
		r := caspio.Result{Kind: step.Kind, Now: w.now, Jitter: 0.5}
		w.mu.Unlock()
		switch step.Kind {
		case caspio.StepDone, caspio.StepFail:
			return step
		case caspio.StepTokenRequest:
			w.mu.Lock()
			n := w.logins + w.refreshes + 1
			if step.Request.Grant == caspio.GrantRefreshToken {
				w.refreshes++
			} else {
				w.logins++
			}
			reply := w.tokenReply
			w.mu.Unlock()
			r.Response = reply(step.Request.Grant, n)
		case caspio.StepSend:
			w.mu.Lock()
			w.sends++
			reply := w.sendReply
			w.mu.Unlock()
			r.Response = caspio.Response{Status: reply(step.Request.Authorization.Reveal())}
		case caspio.StepRead:
			w.mu.Lock()
			if w.stored != nil {
				var v any
				if json.Unmarshal(w.stored, &v) != nil {
					r.Err = &caspio.StateError{Problem: "not JSON"}
				}
				r.Stored = v
			}
			w.mu.Unlock()
		case caspio.StepWrite:
			data, err := json.Marshal(step.State.Encode())
			if err != nil {
				panic(err)
			}
			w.mu.Lock()
			w.stored = data
			w.mu.Unlock()
		case caspio.StepLock, caspio.StepUnlock, caspio.StepWait:
		case caspio.StepJoin:
			w.mu.Lock()
			landed := w.landed
			w.mu.Unlock()
			if step = c.Next(r); step.Kind == caspio.StepJoin {
				<-landed
			}
			continue
		}
		step = c.Next(r)
	}
}

// TestMachineStampedeOfGoroutines runs many callers at once through a goroutine driver:
// one login between them, one lease for all, and the race detector finds nothing.
func TestMachineStampedeOfGoroutines(t *testing.T) {
	for _, lock := range []bool{false, true} {
		t.Run(fmt.Sprintf("lock=%v", lock), func(t *testing.T) {
			m := newTestMachine(t, caspio.Options{Lock: lock})
			w := newWorld()
			var wg sync.WaitGroup
			leases := make([]string, 64)
			for i := range leases {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var step caspio.Step
					if i%2 == 0 {
						step = w.run(m.Token(machineNow))
					} else {
						step = w.run(m.Fetch(caspio.ResourceRequest{Ref: "tables"}, machineNow))
					}
					if assert.Equal(t, caspio.StepDone, step.Kind, "%v", step) {
						leases[i] = step.Lease.Authorization.Reveal()
					}
				}()
			}
			wg.Wait()
			assert.Equal(t, 1, w.logins, "one login for all")
			for _, l := range leases {
				assert.Equal(t, "Bearer SECRET-at1", l)
			}
			assert.Equal(t, 32, w.sends)
		})
	}
}

// TestMachineConcurrent401s: many requests refused with one old token make one refresh.
func TestMachineConcurrent401s(t *testing.T) {
	m := newTestMachine(t, caspio.Options{})
	w := newWorld()
	require.Equal(t, caspio.StepDone, w.run(m.Token(machineNow)).Kind)
	w.sendReply = func(authorization string) int {
		if authorization == "Bearer SECRET-at1" {
			return 401
		}
		return 200
	}
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			step := w.run(m.Fetch(caspio.ResourceRequest{Ref: "tables", Authorization: caspio.NewSecret("Bearer SECRET-at1")}, machineNow+1000))
			assert.Equal(t, caspio.StepDone, step.Kind, "%v", step)
			assert.Equal(t, "Bearer SECRET-at2", step.Lease.Authorization.Reveal())
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, w.logins)
	assert.Equal(t, 1, w.refreshes, "one refresh serves every refused request")
	assert.Equal(t, 80, w.sends)
	assert.Equal(t, 40, m.Status(machineNow+2000).UnauthorizedRetries)
	assert.Equal(t, 1, m.Status(machineNow+2000).Revoked)
}

// TestMachineEndsWhateverItIsFed feeds random results, of the right kind or not, and checks
// that every conversation ends, within its bound, without a panic.
func TestMachineEndsWhateverItIsFed(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []string{caspio.StepTokenRequest, caspio.StepSend, caspio.StepLock, caspio.StepRead, caspio.StepWrite, caspio.StepUnlock, caspio.StepWait, caspio.StepJoin, "", "nonsense"}
	statuses := []int{0, 200, 200, 200, 301, 302, 303, 307, 308, 400, 401, 401, 429, 500, 503, -1, 1000}
	locations := []string{"", "/rest/v2/x", "https://elsewhere.example/", "//evil.example/a", "javascript:x", "https://u:p@c1abc123.caspio.com/rest/v2", "?q=1", "../../.."}
	bodies := []any{nil, "text", map[string]any{"access_token": "SECRET-a", "token_type": "bearer", "expires_in": float64(60)},
		map[string]any{"access_token": "SECRET-a", "token_type": "bearer", "expires_in": float64(86399), "refresh_token": "SECRET-r"},
		map[string]any{"error": "invalid_grant"}, []any{1.0}}
	stored := []any{nil, "x", map[string]any{"version": float64(1), "client_id": "id-1", "token_url": "https://c1abc123.caspio.com/oauth/token",
		"access_token": "SECRET-a", "expires_at": float64(machineNow + 100000), "refresh_token": "SECRET-r", "refresh_issued_at": float64(machineNow)}}
	for round := range 300 {
		m := newTestMachine(t, caspio.Options{Lock: round%2 == 0, Hold: []string{"", "", caspio.HoldLogin, caspio.HoldAll}[round%4]})
		now := machineNow
		var convs []*caspio.Conversation
		for i := range 4 {
			switch i % 4 {
			case 0:
				convs = append(convs, m.Token(now))
			case 1:
				convs = append(convs, m.Fetch(caspio.ResourceRequest{Ref: "tables", OneShot: rng.IntN(2) == 0}, now))
			case 2:
				convs = append(convs, m.Refresh(now))
			default:
				convs = append(convs, m.Authenticate(now))
			}
		}
		steps := make([]int, len(convs))
		for live := true; live; {
			live = false
			for i, c := range convs {
				step := c.Step()
				if step.Kind == caspio.StepDone || step.Kind == caspio.StepFail {
					continue
				}
				live = true
				now += caspio.UnixMilli(rng.IntN(100_000_000))
				kind := step.Kind
				if rng.IntN(20) == 0 {
					kind = kinds[rng.IntN(len(kinds))]
				}
				r := caspio.Result{Kind: kind, Now: now, Jitter: rng.Float64(), Stored: stored[rng.IntN(len(stored))],
					Response: caspio.Response{Status: statuses[rng.IntN(len(statuses))], Location: locations[rng.IntN(len(locations))], Body: bodies[rng.IntN(len(bodies))]}}
				if rng.IntN(10) == 0 {
					r.Err = errors.New("store failed")
				}
				if rng.IntN(50) == 0 {
					r.Now = 0
				}
				next := c.Next(r)
				if next.Kind != caspio.StepJoin {
					steps[i]++
				}
				require.Less(t, steps[i], 420, "round %d: conversation %d does not end", round, i)
				if next.Kind == caspio.StepFail {
					require.Error(t, next.Err)
					assert.NotContains(t, next.Err.Error(), "SECRET")
				}
			}
		}
	}
}

// TestMachineStepBound: a resource request that keeps meeting new acquisitions of another
// kind gives up after its bound of steps, with a typed error.
func TestMachineStepBound(t *testing.T) {
	m := newTestMachine(t, caspio.Options{})
	now := machineNow
	f := m.Fetch(caspio.ResourceRequest{Ref: "tables"}, now)
	require.Equal(t, caspio.StepRead, f.Step().Kind)
	f.Close()
	a := m.Authenticate(now)
	f = m.Fetch(caspio.ResourceRequest{Ref: "tables"}, now)
	for range 1000 {
		require.Equal(t, caspio.StepJoin, f.Step().Kind)
		a.Close() // the authenticate flight lands without an outcome; the next starts at once
		a = m.Authenticate(now)
		if step := f.Next(caspio.Result{Kind: caspio.StepJoin, Now: now}); step.Kind == caspio.StepFail {
			var te *caspio.TokenError
			require.ErrorAs(t, step.Err, &te)
			assert.Equal(t, caspio.KindGaveUp, te.Kind())
			return
		}
	}
	t.Fatal("the conversation never gave up")
}

func TestMachineMisuse(t *testing.T) {
	var stepErr *caspio.StepError
	var zero caspio.Conversation
	require.ErrorAs(t, zero.Next(caspio.Result{Kind: "read", Now: 1}).Err, &stepErr)
	require.ErrorAs(t, zero.Step().Err, &stepErr)
	zero.Close()
	var nilConv *caspio.Conversation
	require.ErrorAs(t, nilConv.Next(caspio.Result{}).Err, &stepErr)

	var nilMachine *caspio.Machine
	require.ErrorAs(t, nilMachine.Token(machineNow).Step().Err, &stepErr)
	_, ok := nilMachine.Lease(machineNow)
	assert.False(t, ok)
	assert.Equal(t, caspio.Status{}, nilMachine.Status(machineNow))
	nilMachine.StoreChanged()

	noFlow, err := caspio.NewMachine(nil, caspio.Options{})
	require.NoError(t, err)
	c := noFlow.Fetch(caspio.ResourceRequest{Ref: "tables"}, machineNow)
	require.ErrorAs(t, c.Step().Err, &stepErr)
	require.ErrorAs(t, c.Next(caspio.Result{Kind: "fail", Now: machineNow}).Err, &stepErr)

	m := newTestMachine(t, caspio.Options{})
	require.ErrorAs(t, m.Token(0).Step().Err, &stepErr, "no time")
	bad := m.Fetch(caspio.ResourceRequest{Ref: "tables", Redirect: "sometimes"}, machineNow)
	require.ErrorAs(t, bad.Step().Err, &stepErr)
	assert.Contains(t, bad.Step().Err.Error(), "Redirect")

	c = m.Token(machineNow)
	require.Equal(t, caspio.StepRead, c.Step().Kind)
	step := c.Next(caspio.Result{Kind: caspio.StepTokenRequest, Now: machineNow, Response: caspio.Response{Status: -5}})
	require.ErrorAs(t, step.Err, &stepErr)
	assert.Equal(t, caspio.KindStep, stepErr.Kind())
	assert.NotZero(t, step.Landed, "the flight the conversation ran lands")
	assert.Equal(t, "", m.Status(machineNow).Acquiring)

	c = m.Token(machineNow)
	c.Next(caspio.Result{Kind: caspio.StepRead, Now: machineNow})
	step = c.Next(caspio.Result{Kind: caspio.StepTokenRequest, Now: machineNow, Response: caspio.Response{Status: 1000}})
	require.ErrorAs(t, step.Err, &stepErr)
	assert.Contains(t, stepErr.Error(), "1000")
}

func TestParseResult(t *testing.T) {
	for _, c := range []struct {
		name  string
		in    any
		want  caspio.Result
		field string // in the error, when the value is refused
	}{
		{name: "a read", in: map[string]any{"kind": "read", "now": 5.0, "stored": map[string]any{"version": 1.0}},
			want: caspio.Result{Kind: "read", Now: 5, Stored: map[string]any{"version": 1.0}}},
		{name: "a corrupt read", in: map[string]any{"kind": "read", "now": 5.0, "error": "bad", "error_kind": "STATE_INVALID"},
			want: caspio.Result{Kind: "read", Now: 5, Err: &caspio.StateError{Problem: "bad"}}},
		{name: "a token response", in: map[string]any{"kind": "token_request", "now": 5.0, "jitter": 0.25, "response": map[string]any{
			"status": 429.0, "content_type": "application/json", "body": map[string]any{}, "retry_after": "3", "location": "/x"}},
			want: caspio.Result{Kind: "token_request", Now: 5, Jitter: 0.25, Response: caspio.Response{Status: 429, ContentType: "application/json", Body: map[string]any{}, RetryAfter: "3", Location: "/x"}}},
		{name: "not an object", in: "read", field: "result must be an object"},
		{name: "no kind", in: map[string]any{"now": 5.0}, field: "kind"},
		{name: "no now", in: map[string]any{"kind": "read"}, field: "now"},
		{name: "a string jitter", in: map[string]any{"kind": "read", "now": 1.0, "jitter": "x"}, field: "jitter"},
		{name: "an error object", in: map[string]any{"kind": "read", "now": 1.0, "error": map[string]any{}}, field: "error"},
		{name: "a response array", in: map[string]any{"kind": "send", "now": 1.0, "response": []any{}}, field: "response"},
		{name: "a string status", in: map[string]any{"kind": "send", "now": 1.0, "response": map[string]any{"status": "200"}}, field: "response.status"},
		{name: "a numeric location", in: map[string]any{"kind": "send", "now": 1.0, "response": map[string]any{"status": 302.0, "location": 1.0}}, field: "response.location"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := caspio.ParseResult(c.in)
			if c.field != "" {
				var se *caspio.StepError
				require.ErrorAs(t, err, &se)
				assert.Contains(t, se.Error(), c.field)
				return
			}
			require.NoError(t, err)
			if c.want.Err != nil {
				require.Error(t, got.Err)
				assert.IsType(t, c.want.Err, got.Err)
				got.Err, c.want.Err = nil, nil
			}
			assert.Equal(t, c.want, got)
		})
	}
}

func TestMachineSecretsNeverPrint(t *testing.T) {
	m := newTestMachine(t, caspio.Options{})
	w := newWorld()
	done := w.run(m.Token(machineNow))
	require.Equal(t, caspio.StepDone, done.Kind)
	c := m.Token(machineNow + caspio.UnixMilli(caspio.Day))
	read := c.Step()
	tokenStep := c.Next(caspio.Result{Kind: caspio.StepRead, Now: machineNow + caspio.UnixMilli(caspio.Day)})
	require.Equal(t, caspio.StepTokenRequest, tokenStep.Kind)
	values := map[string]any{
		"Machine": m, "Conversation": c, "done Step": done, "token Step": tokenStep, "read Step": read,
		"Result": caspio.Result{Kind: "read", Stored: map[string]any{"access_token": "SECRET-at1"}, Response: caspio.Response{Body: map[string]any{"access_token": "SECRET-at1"}}},
		"Status": m.Status(machineNow), "Event": caspio.Event{Kind: "login"},
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, "SECRET", "%s printed with %s: %s", name, verb, out)
		}
	}
	// Encode reveals on purpose: the driver must send the credentials.
	assert.Contains(t, tokenStep.Encode()["body"], "refresh_token=SECRET-rt1")
	assert.Equal(t, "Bearer SECRET-at1", done.Encode()["lease"].(map[string]any)["authorization"])
}

// TestMachineStatus checks what a status page reads, and that the Lease a driver may keep
// is the one the status describes.
func TestMachineStatus(t *testing.T) {
	m := newTestMachine(t, caspio.Options{Hold: caspio.HoldLogin})
	st := m.Status(machineNow)
	assert.Equal(t, caspio.Status{RefreshMargin: 5 * caspio.Minute, Next: caspio.Authenticate, Hold: caspio.HoldLogin}, st)
	_, ok := m.Lease(machineNow)
	assert.False(t, ok)

	m = newTestMachine(t, caspio.Options{})
	w := newWorld()
	c := m.Token(machineNow)
	assert.Equal(t, "token", m.Status(machineNow).Acquiring, "an acquisition is in flight")
	require.Equal(t, caspio.StepDone, w.run(c).Kind)
	st = m.Status(machineNow)
	expires := machineNow.Add(86399 * caspio.Second)
	assert.Equal(t, caspio.Status{
		RefreshMargin:         5 * caspio.Minute,
		AccessTokenExpiresAt:  expires,
		LeaseValidUntil:       expires.Add(-5 * caspio.Minute),
		RefreshTokenExpiresAt: machineNow.Add(60 * caspio.Day),
		Next:                  caspio.UseLease,
		Counters:              caspio.Counters{ClientCredentialsRequests: 1, Logins: 1},
	}, st)
	l, ok := m.Lease(machineNow)
	require.True(t, ok)
	assert.Equal(t, st.LeaseValidUntil, l.ValidUntil)
	assert.Equal(t, caspio.Refresh, m.Status(st.LeaseValidUntil).Next)
	assert.Equal(t, "Bearer SECRET-at1", "Bearer "+m.State().AccessToken.Reveal())
	assert.Equal(t, caspio.DefaultTokenTimeout, m.Options().TokenTimeout)
	assert.Same(t, m.Settings(), m.Settings())
}

// TestStepEncodeIsPlain checks that every step of a long conversation encodes to values
// JSON carries as they are, so that the wasm export can hand them to JS.
func TestStepEncodeIsPlain(t *testing.T) {
	m := newTestMachine(t, caspio.Options{Lock: true})
	w := newWorld()
	w.tokenReply = func(grant string, n int) caspio.Response {
		if n == 1 {
			return caspio.Response{Status: 503, RetryAfter: "1"}
		}
		return caspio.Response{Status: 200, Body: map[string]any{"access_token": "SECRET-at", "token_type": "bearer", "expires_in": float64(60)}}
	}
	c := m.Fetch(caspio.ResourceRequest{Method: "POST", Ref: "tables"}, machineNow)
	var kinds []string
	requests := 0
	step := c.Step()
	for step.Kind != caspio.StepDone {
		kinds = append(kinds, step.Kind)
		enc := step.Encode()
		data, err := json.Marshal(enc)
		require.NoError(t, err)
		var back map[string]any
		require.NoError(t, json.Unmarshal(data, &back))
		assert.Equal(t, enc, back, "%s encodes to plain JSON values", step.Kind)
		var stored any
		if w.stored != nil {
			require.NoError(t, json.Unmarshal(w.stored, &stored))
		}
		r, err := caspio.ParseResult(map[string]any{"kind": step.Kind, "now": float64(machineNow), "stored": stored})
		require.NoError(t, err)
		switch step.Kind {
		case caspio.StepTokenRequest:
			requests++
			r.Response = w.tokenReply(step.Request.Grant, requests)
		case caspio.StepSend:
			r.Response = caspio.Response{Status: 200}
		case caspio.StepWrite:
			data, _ := json.Marshal(step.State.Encode())
			w.stored = data
		}
		step = c.Next(r)
	}
	assert.Equal(t, strings.Fields("read lock read token_request write wait token_request write unlock send"), kinds)
}

func TestNewMachineOptions(t *testing.T) {
	settings, err := caspio.NewSettings(caspio.Config{Account: "c1abc123", ClientID: "id-1", ClientSecret: caspio.NewSecret("SECRET-1")})
	require.NoError(t, err)
	for _, c := range []struct {
		name  string
		opts  caspio.Options
		field string
	}{
		{"defaults", caspio.Options{}, ""},
		{"hold login", caspio.Options{Hold: caspio.HoldLogin}, ""},
		{"hold in capitals", caspio.Options{Hold: "Login"}, "Hold"},
		{"negative timeout", caspio.Options{TokenTimeout: -1}, "TokenTimeout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := caspio.NewMachine(settings, c.opts)
			if c.field == "" {
				require.NoError(t, err)
				assert.Positive(t, m.Options().TokenTimeout)
				return
			}
			var ce *caspio.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, c.field, ce.Field)
			assert.Nil(t, m)
		})
	}
}

// TestMachineTokenNotUsable: a write result reported after the new token's lease already
// ended (a clock that jumped) gives a typed error, not a lease that is not valid.
func TestMachineTokenNotUsable(t *testing.T) {
	m := newTestMachine(t, caspio.Options{})
	w := newWorld()
	c := m.Token(machineNow)
	c.Next(caspio.Result{Kind: caspio.StepRead, Now: machineNow})
	write := c.Next(caspio.Result{Kind: caspio.StepTokenRequest, Now: machineNow, Response: w.tokenReply("client_credentials", 1)})
	require.Equal(t, caspio.StepWrite, write.Kind)
	step := c.Next(caspio.Result{Kind: caspio.StepWrite, Now: machineNow + caspio.UnixMilli(2*caspio.Day)})
	var te *caspio.TokenError
	require.ErrorAs(t, step.Err, &te)
	assert.Equal(t, caspio.KindNotUsable, te.Kind())
	assert.Equal(t, "client_credentials", te.Grant)
}
