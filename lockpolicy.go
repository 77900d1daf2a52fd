package caspio

import "math"

// LockPolicy is how a driver holds and waits for a store's lock that lapses by itself (a
// Redis key with a TTL; the token file's lock file, which its holder keeps fresh; the
// TokenBroker's lease): every store of that kind in every runtime reads it here, so that
// processes in Go and in Node sharing a lock agree on it. The wait as a whole is bounded by
// the lock step's Timeout (LockTimeout). The stores perform the operations only.
type LockPolicy struct {
	// TTL is how long a lock is honoured after its holder last took or extended it: a
	// holder that crashed delays the others by at most that much.
	TTL Millis
	// Extend is how often the holder extends the lock (to TTL from then) while it holds
	// it, so that a token request slower than TTL does not let a second holder in.
	Extend Millis
	// PollMin and PollMax bound a waiter's pause between two tries: the pause doubles from
	// PollMin up to PollMax, with jitter (see Backoff).
	PollMin Millis
	PollMax Millis
	// Unreadable is how long a lock that holds no owner record a waiter can read is
	// honoured (at most TTL): a lock file created where the file system has no hard links
	// exists a moment before its record is written.
	Unreadable Millis
}

// StoreLock returns the LockPolicy of the stores' locks. TTL is short, since the holder
// extends it three times per TTL and only a crashed holder lets it lapse; the pauses start
// short, since an acquisition by another process often ends within one token request.
func StoreLock() LockPolicy {
	return LockPolicy{TTL: 10 * Second, Extend: 10 * Second / 3, PollMin: 5, PollMax: 250, Unreadable: 2 * Second}
}

// SeenLock is a lock as a waiter found it, for Stale.
type SeenLock struct {
	// Age is how long ago its holder last took or refreshed it: for a lock file, now less
	// the file's modification time.
	Age Millis
	// Unreadable says that it holds no owner record the waiter can read.
	Unreadable bool
	// HolderGone says that its holder is a process of the waiter's host that no longer
	// exists.
	HolderGone bool
}

// Stale reports whether a waiter may remove the lock it saw and try to take it (the token
// file's lock, docs/token-file.md): an unreadable one after Unreadable, one whose holder is
// gone at once, any other one when its holder has not refreshed it for longer than TTL.
func (p LockPolicy) Stale(l SeenLock) bool {
	switch {
	case l.Unreadable:
		return l.Age > min(p.Unreadable, p.TTL)
	case l.HolderGone:
		return true
	}
	return l.Age > p.TTL
}

// Backoff is the pause of a waiter before its try number attempt (from 1) after the first
// failed one: PollMin doubled attempt-1 times, at most PollMax, of which the first half is
// waited always and the second half times jitter (from 0 up to 1, drawn at random by the
// driver), so that waiters spread out and never bunch up at zero. Out-of-range arguments are
// clamped.
func (p LockPolicy) Backoff(attempt int, jitter float64) Millis {
	if jitter < 0 || jitter >= 1 || math.IsNaN(jitter) {
		jitter = 0.5
	}
	pause := p.PollMax
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 16 {
		pause = min(p.PollMax, p.PollMin<<(attempt-1))
	}
	return pause/2 + Millis(float64(pause-pause/2)*jitter)
}

// LockTimeout is how long a driver waits for a store's lock before it goes on without it
// (the lock step's Timeout): long enough for another process's whole acquisition, four
// attempts of tokenTimeout each and three Retry-After waits, and ten seconds more.
func LockTimeout(tokenTimeout Millis) Millis {
	return tokenTimeout*(MaxTokenRetries+1) + MaxTokenRetries*MaxRetryAfter + 10*Second
}
