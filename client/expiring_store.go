package client

import (
	"context"
	"time"
)

// ExpiringStore is implemented by a Store that can drop an entry by itself once it is of no
// use (Workers KV, Redis): the client then writes every state with SaveUntil instead of
// Save, and the expiry the core gives it, so that every runtime writing one key gives it
// the same expiry.
type ExpiringStore interface {
	Store
	// SaveUntil replaces the stored state, which the store may drop at expiresAt: when no
	// token in it can be used any more. ttl is the span from now until then in whole
	// seconds, at least a minute (the shortest TTL that Workers KV accepts). A zero
	// expiresAt (and ttl) means that the state is kept without expiry.
	SaveUntil(ctx context.Context, state []byte, expiresAt time.Time, ttl time.Duration) error
}
