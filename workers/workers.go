package workers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caspio-auth/caspio/client"
)

// Transport returns an http.RoundTripper that sends each request with the Workers runtime's
// fetch (syumai/workers' fetch.Client.Do), for an http.Client or the client.Options
// HTTPClient of a Go Worker.
//
// It follows no redirect: a 3xx response comes back as it is (fetch's redirect: "manual"),
// so that the http.Client above it decides, and the native driver's token requests never
// follow one. It honours the request's context: when the context ends before the response
// headers arrive, RoundTrip returns the context's error at once, and a body still being
// read fails with it. A GET or HEAD request with a body is refused, as fetch refuses it.
//
// Outside a Worker every request fails with ErrNotInWorker.
func Transport() http.RoundTripper { return fetchTransport{} }

// HTTPClient returns an *http.Client over Transport, which follows redirects as any
// http.Client does. Outside a Worker every request fails with ErrNotInWorker.
func HTTPClient() *http.Client { return &http.Client{Transport: Transport()} }

// NewKVStore returns a client.Store that keeps the token state under key in the Workers KV
// namespace bound to the Worker as binding (kv_namespaces in wrangler.jsonc), as the same
// JSON every caspio-auth runtime stores.
//
// The store is a client.ExpiringStore: the client writes each state with the expiry the core
// gives it (when no token in it can be used any more: the later of the refresh token's
// expiry on Caspio's side and the access token's, at least MinKVTTL away), which the store
// sets as the key's expiration TTL, so that KV drops a state nobody can use any more. The
// JavaScript package's kvStorage writes the same key with the same expiry. A state without
// tokens is kept without expiry.
//
// KV is eventually consistent: a read may be up to 60 seconds stale in another location,
// and workers in several locations (or several cold instances at once) may each find no
// token and log in. A stale read costs at most a refresh or a login, never a token used
// past its expiry: the client re-checks every lease it reads against the clock, and a
// token Caspio refuses with 401 is dropped and replaced. KV also accepts about one write per
// second per key; a refused write is reported as a client.EventStoreError and the token
// stays usable for the request. Where many requests start cold at once, broker the token
// through one place instead: NewBrokerStore.
//
// The store implements no client.Locker: KV has no locks. Outside a Worker NewKVStore
// returns ErrNotInWorker.
func NewKVStore(binding, key string) (client.Store, error) {
	if err := checkKV(binding, key); err != nil {
		return nil, err
	}
	return newKVStore(binding, key)
}

// NewBrokerStore returns a client.Store whose state and lock are those of the TokenBroker
// Durable Object (the class caspio-auth's npm package exports) called name in the namespace
// bound to the Worker as binding (durable_objects in wrangler.jsonc; a Go Worker cannot
// define the class, so the binding names the JavaScript Worker exporting it with
// script_name). Use one name per client ID, e.g. "caspio-token:" + the client ID, which is
// also the name the JavaScript proxy's brokerStorage uses, so the two can share tokens.
//
// The store implements client.Locker: the native driver holds the broker's lock from reading
// the state to saving the new one, so that every request of a deployment, in any isolate,
// makes one token request between them: 200 cold requests make one login, and an expiry one
// refresh. The lock is held for the core's lock TTL (caspio.StoreLock) and extended while
// its holder works, so a holder whose request ends delays the others by at most a TTL; Lock
// waits until its context ends (the core's lock timeout); the broker is told how long, so
// that it stops waiting when the caller does.
//
// It talks to the broker through the stub's fetch (syumai/workers' DurableObjectStub.Fetch):
// Go Workers cannot make JS RPC calls. The state is the same JSON every caspio-auth runtime
// stores. Outside a Worker NewBrokerStore returns ErrNotInWorker; when binding is not bound,
// an error wrapping ErrNotBound.
func NewBrokerStore(binding, name string) (client.Store, error) {
	if err := checkBroker(binding, name); err != nil {
		return nil, err
	}
	return newBrokerStore(binding, name)
}

// maxBrokerWait bounds a wait for the broker's lock whose context has no deadline: the
// longest wait the TokenBroker accepts (MAX_MS in js/broker.js). The client's lock step
// gives the deadline (the core's LockTimeout).
const maxBrokerWait = 300 * time.Second

// ErrNotInWorker is the error of Transport's requests, NewKVStore and NewBrokerStore
// outside a Cloudflare Worker built with GOOS=js GOARCH=wasm.
var ErrNotInWorker = errors.New("caspio workers: only available in a Cloudflare Worker (GOOS=js GOARCH=wasm)")

// ErrNotBound is wrapped by the error of NewKVStore and NewBrokerStore when the binding is
// not bound to the Worker, so that a Worker may fall back to another store.
var ErrNotBound = errors.New("binding not bound")

// checkBroker checks NewBrokerStore's arguments on every platform.
func checkBroker(binding, name string) error {
	switch {
	case strings.TrimSpace(binding) == "":
		return errors.New(`caspio workers: Durable Object binding name is empty; give the binding's name from wrangler.jsonc durable_objects, e.g. "CASPIO_BROKER"`)
	case name == "":
		return errors.New(`caspio workers: TokenBroker name is empty; give one per client ID, e.g. "caspio-token:" + the client ID`)
	case len(name) > maxKVKey:
		return errors.New("caspio workers: TokenBroker name is " + strconv.Itoa(len(name)) + " bytes long; keep it under 512")
	}
	return nil
}

// MinKVTTL is the shortest expiration TTL Workers KV accepts, in seconds.
const MinKVTTL = 60

// maxKVKey is the longest key Workers KV accepts, in bytes.
const maxKVKey = 512

// checkKV checks NewKVStore's arguments on every platform, so that a mistake shows up in a
// native test as well as in the Worker.
func checkKV(binding, key string) error {
	switch {
	case strings.TrimSpace(binding) == "":
		return errors.New(`caspio workers: KV binding name is empty; give the binding's name from wrangler.jsonc kv_namespaces, e.g. "CASPIO_TOKENS"`)
	case key == "":
		return errors.New(`caspio workers: KV key is empty; give the key to keep the token state under, e.g. "caspio-token:" + the client ID`)
	case key == "." || key == "..":
		return errors.New(`caspio workers: KV key "` + key + `" is not allowed by Workers KV; choose another key`)
	case len(key) > maxKVKey:
		return errors.New("caspio workers: KV key is " + strconv.Itoa(len(key)) + " bytes long; Workers KV allows at most 512")
	}
	return nil
}

// kvExpirationTTL is the expirationTtl, in seconds, for a state that the client writes with
// the TTL ttl (0: keep it). The core gives whole seconds, at least a minute; a shorter one
// is raised to MinKVTTL, which KV would otherwise refuse.
func kvExpirationTTL(ttl time.Duration) int {
	if ttl <= 0 {
		return 0
	}
	return max(int((ttl+time.Second-1)/time.Second), MinKVTTL)
}
