package client

import (
	"time"

	"github.com/caspio-auth/caspio"
)

// SetStaleLock sets how long s honours a lock whose holder stopped refreshing it (the
// holder refreshes it every third of that), so that tests of the refresh take milliseconds.
func SetStaleLock(s *FileStore, d time.Duration) {
	s.lock.TTL = caspio.Millis(d.Milliseconds())
	s.lock.Extend = s.lock.TTL / 3
}
