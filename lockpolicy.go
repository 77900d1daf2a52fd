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

// StaleAfter is the age up to which a lock seen as l is honoured (docs/token-file.md): an
// unreadable one Unreadable (at most TTL), one whose holder is gone none at all (-1: stale
// at any age), any other one TTL since its holder last refreshed it. The JS lock step
// carries the three (lock_stale_ms), so that every store compares an age with the core's.
func (p LockPolicy) StaleAfter(l SeenLock) Millis {
	switch {
	case l.Unreadable:
		return min(p.Unreadable, p.TTL)
	case l.HolderGone:
		return -1
	}
	return p.TTL
}

// Stale reports whether a waiter may remove the lock it saw and try to take it: when its age
// is past StaleAfter.
func (p LockPolicy) Stale(l SeenLock) bool { return l.Age > p.StaleAfter(l) }

// maxDoublings bounds Pauses: after that many doublings the pause is PollMax whatever
// PollMin is (a PollMin of 0 never doubles).
const maxDoublings = 16

// Pauses is a waiter's pause schedule: entry i is [min, max] of the pause before its try
// number i+2 (after its i+1st failed one), and the last entry holds for every later pause.
// max is PollMin doubled i times, at most PollMax, and min half of it, so that waiters
// spread out and never bunch up at zero. The JS lock step carries it
// (lock_pauses_ms), so that a JS store draws its pause as Go's do (Backoff).
func (p LockPolicy) Pauses() [][2]Millis {
	var out [][2]Millis
	for i := 0; ; i++ {
		pause := p.PollMax
		if i < maxDoublings {
			pause = min(p.PollMax, p.PollMin<<i)
		}
		out = append(out, [2]Millis{pause / 2, pause})
		if pause >= p.PollMax || i >= maxDoublings {
			return out
		}
	}
}

// Backoff is the pause of a waiter before its try number attempt+1 (attempt from 1), drawn
// from Pauses: min plus jitter (from 0 up to 1, drawn at random by the driver) times the
// rest. Out-of-range arguments are clamped.
func (p LockPolicy) Backoff(attempt int, jitter float64) Millis {
	if jitter < 0 || jitter >= 1 || math.IsNaN(jitter) {
		jitter = 0.5
	}
	pauses := p.Pauses()
	i := len(pauses) - 1
	if attempt >= 1 && attempt <= len(pauses) {
		i = attempt - 1
	} else if attempt < 1 {
		i = 0
	}
	lo, hi := pauses[i][0], pauses[i][1]
	return lo + Millis(float64(hi-lo)*jitter)
}

// LockTimeout is how long a driver waits for a store's lock before it goes on without it
// (the lock step's Timeout): long enough for another process's whole acquisition, four
// attempts of tokenTimeout each and three Retry-After waits, and ten seconds more.
func LockTimeout(tokenTimeout Millis) Millis {
	return tokenTimeout*(MaxTokenRetries+1) + MaxTokenRetries*MaxRetryAfter + 10*Second
}
