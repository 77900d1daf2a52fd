package caspio_test

import (
	"math"
	"testing"

	"github.com/caspio-auth/caspio"
	"github.com/stretchr/testify/assert"
)

func TestStoreLockPolicy(t *testing.T) {
	p := caspio.StoreLock()
	assert.Greater(t, p.TTL, caspio.Millis(0))
	assert.LessOrEqual(t, 3*p.Extend, p.TTL, "the holder extends the lock at least three times per TTL")
	assert.Less(t, p.PollMax, p.Extend, "a waiter tries again well within an extension")
	assert.Greater(t, caspio.LockTimeout(caspio.DefaultTokenTimeout), p.TTL, "a waiter outlasts a dead holder's lock")
	assert.Equal(t, 220*caspio.Second, caspio.LockTimeout(caspio.DefaultTokenTimeout))
}

func TestLockBackoff(t *testing.T) {
	p := caspio.LockPolicy{TTL: 10000, Extend: 3000, PollMin: 8, PollMax: 100}
	for _, tc := range []struct {
		name    string
		attempt int
		jitter  float64
		want    caspio.Millis
	}{
		{"first pause, no jitter: half of PollMin", 1, 0, 4},
		{"first pause, full jitter", 1, 0.999, 7},
		{"doubles", 2, 0, 8},
		{"doubles again", 3, 0.5, 24},
		{"capped at PollMax", 10, 0, 50},
		{"a huge attempt stays capped", math.MaxInt, 0, 50},
		{"attempt 0 counts as the first", 0, 0, 4},
		{"jitter out of range is a half", 1, 7, 6},
		{"NaN jitter is a half", 1, math.NaN(), 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, p.Backoff(tc.attempt, tc.jitter))
		})
	}
}

// The lock step carries the policy's decisions as values a JS store only looks up: the
// pause schedule and the ages up to which a lock is honoured.
func TestLockStepCarriesThePolicy(t *testing.T) {
	p := caspio.StoreLock()
	got := caspio.Step{Kind: caspio.StepLock, Timeout: 1234}.Encode()
	assert.Equal(t, map[string]any{
		"kind": "lock", "timeout_ms": float64(1234),
		"lock_ttl_ms": float64(p.TTL), "lock_extend_ms": float64(p.Extend),
		"lock_pauses_ms": []any{
			[]any{float64(2), float64(5)}, []any{float64(5), float64(10)}, []any{float64(10), float64(20)},
			[]any{float64(20), float64(40)}, []any{float64(40), float64(80)}, []any{float64(80), float64(160)},
			[]any{float64(125), float64(250)},
		},
		"lock_stale_ms": map[string]any{"held": float64(p.TTL), "holder_gone": float64(-1), "unreadable": float64(p.Unreadable)},
	}, got)
	text := caspio.Step{Kind: caspio.StepLock, Timeout: 1234}.AppendJSON(nil)
	assert.Contains(t, string(text), `"lock_pauses_ms":[[2,5],[5,10],[10,20],[20,40],[40,80],[80,160],[125,250]],"lock_stale_ms":{"held":10000,"holder_gone":-1,"unreadable":2000}`)
}

func TestLockPauses(t *testing.T) {
	p := caspio.LockPolicy{PollMin: 8, PollMax: 100}
	assert.Equal(t, [][2]caspio.Millis{{4, 8}, {8, 16}, {16, 32}, {32, 64}, {50, 100}}, p.Pauses())
	zero := caspio.LockPolicy{PollMin: 0, PollMax: 100}
	pauses := zero.Pauses()
	assert.Len(t, pauses, 17, "a PollMin that never doubles ends at PollMax after 16 doublings")
	assert.Equal(t, [2]caspio.Millis{50, 100}, pauses[16])
	for attempt := 1; attempt <= 8; attempt++ {
		i := min(attempt, len(p.Pauses())) - 1
		assert.Equal(t, p.Pauses()[i][0], p.Backoff(attempt, 0), "attempt %d", attempt)
	}
}

func TestLockStale(t *testing.T) {
	p := caspio.StoreLock()
	for _, tc := range []struct {
		name string
		seen caspio.SeenLock
		want bool
	}{
		{"a fresh lock of a live holder", caspio.SeenLock{Age: 1}, false},
		{"refreshed just within TTL", caspio.SeenLock{Age: p.TTL}, false},
		{"not refreshed for longer than TTL", caspio.SeenLock{Age: p.TTL + 1}, true},
		{"its holder is gone: at once", caspio.SeenLock{HolderGone: true}, true},
		{"unreadable, young: may still be being written", caspio.SeenLock{Age: p.Unreadable, Unreadable: true}, false},
		{"unreadable, older than Unreadable", caspio.SeenLock{Age: p.Unreadable + 1, Unreadable: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, p.Stale(tc.seen))
		})
	}
	assert.Equal(t, caspio.Millis(-1), p.StaleAfter(caspio.SeenLock{HolderGone: true}))
	short := caspio.LockPolicy{TTL: 500, Unreadable: 2000}
	assert.True(t, short.Stale(caspio.SeenLock{Age: 501, Unreadable: true}), "an unreadable lock is honoured at most TTL")
	assert.Less(t, p.Extend*2, p.TTL, "a holder refreshes its lock at least twice before a waiter may find it stale")
}

// Every store step carries its limit: a storage that does not answer fails the step, and
// the acquisition goes on without it.
func TestStoreStepsCarryTheirLimit(t *testing.T) {
	settings, err := caspio.NewSettings(caspio.Config{Account: "c1abc123", ClientID: "id", ClientSecret: caspio.NewSecret("SECRET")})
	assert.NoError(t, err)
	m, err := caspio.NewMachine(settings, caspio.Options{Lock: true, TokenTimeout: 1500})
	assert.NoError(t, err)
	c := m.Token(1_700_000_000_000)
	step := c.Step()
	seen := map[string]caspio.Millis{}
	for i := 0; i < 20 && step.Kind != caspio.StepDone && step.Kind != caspio.StepFail; i++ {
		seen[step.Kind] = step.Timeout
		if enc := step.Encode(); step.Kind != caspio.StepWait {
			assert.Equal(t, float64(step.Timeout), enc["timeout_ms"], step.Kind)
		}
		r := caspio.Result{Kind: step.Kind, Now: 1_700_000_000_000}
		if step.Kind == caspio.StepTokenRequest {
			r.Response = caspio.Response{Status: 200, ContentType: "application/json", Body: map[string]any{
				"access_token": "AT", "token_type": "bearer", "expires_in": float64(86399), "refresh_token": "RT"}}
		}
		step = c.Next(r)
	}
	assert.Equal(t, caspio.StepDone, step.Kind)
	for _, kind := range []string{caspio.StepRead, caspio.StepWrite, caspio.StepUnlock, caspio.StepTokenRequest} {
		assert.Equal(t, caspio.Millis(1500), seen[kind], kind)
	}
	assert.Equal(t, caspio.LockTimeout(1500), seen[caspio.StepLock])
}
