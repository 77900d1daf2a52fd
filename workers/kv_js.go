//go:build js && wasm

package workers

import (
	"context"
	"fmt"
	"time"

	"github.com/caspio-auth/caspio/client"
	"github.com/syumai/workers/cloudflare/kv"
)

// kvStore is a client.ExpiringStore over one key of a Workers KV namespace.
type kvStore struct {
	binding, key string
	ns           *kv.Namespace
}

func newKVStore(binding, key string) (s client.Store, err error) {
	defer func() {
		// syumai/workers panics when there is no runtime context (not in a Worker).
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("%w: no Workers runtime context (%v)", ErrNotInWorker, p)
		}
	}()
	ns, err := kv.NewNamespace(binding)
	if err != nil {
		return nil, fmt.Errorf("%w: caspio workers: KV binding %s is not bound to this Worker; add it to kv_namespaces in wrangler.jsonc", ErrNotBound, binding)
	}
	return &kvStore{binding: binding, key: key, ns: ns}, nil
}

var _ client.ExpiringStore = (*kvStore)(nil)

// jsNull is what syumai/workers' GetString returns for a missing key: the String of a
// JavaScript null. A stored token state is a JSON object and never reads so.
const jsNull = "<null>"

func (s *kvStore) Load(ctx context.Context) ([]byte, error) {
	v, err := await(ctx, func() (string, error) { return s.ns.GetString(s.key, nil) })
	if err != nil {
		return nil, fmt.Errorf("caspio workers: read the token state from KV %s: %w", s, err)
	}
	if v == jsNull || v == "" {
		return nil, nil
	}
	return []byte(v), nil
}

// Save stores state without expiry; the client calls SaveUntil.
func (s *kvStore) Save(ctx context.Context, state []byte) error {
	return s.SaveUntil(ctx, state, time.Time{}, 0)
}

// SaveUntil stores state with the expiration TTL the client gives (none for 0).
func (s *kvStore) SaveUntil(ctx context.Context, state []byte, _ time.Time, ttl time.Duration) error {
	opts := &kv.PutOptions{ExpirationTTL: kvExpirationTTL(ttl)}
	_, err := await(ctx, func() (struct{}, error) {
		return struct{}{}, s.ns.PutString(s.key, string(state), opts)
	})
	if err != nil {
		return fmt.Errorf("caspio workers: write the token state to KV %s: %w", s, err)
	}
	return nil
}

// String names the binding and key, never the state.
func (s *kvStore) String() string { return s.binding + " key " + s.key }

// await runs a blocking syumai/workers call (it waits for a JavaScript promise) and returns
// its result, or ctx's error as soon as ctx ends; a JavaScript exception becomes an error.
func await[T any](ctx context.Context, call func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				var zero T
				done <- result{zero, fmt.Errorf("%v", p)}
			}
		}()
		v, err := call()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
