package client

import "time"

// SetStaleLock sets how long s honours a lock whose holder stopped refreshing it (the
// holder refreshes it every sixth of that), so that tests of the refresh take milliseconds.
func SetStaleLock(s *FileStore, d time.Duration) { s.staleLock = d }
