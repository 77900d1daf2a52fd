// Package redisstore keeps a caspio client's token state in Redis (or a server that speaks
// its protocol: Valkey, a managed Redis, Redis Cluster), so that the processes of a
// deployment on many hosts share one token instead of logging in once each: every login
// mints one of the account's at most 1,000 refresh tokens and evicts the oldest, which may
// belong to another integration.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	c, err := client.New(cfg, client.Options{Store: redisstore.New(rdb, "caspio:orders-app")})
//
// A Store implements the client package's Store, Locker and ExpiringStore. For the key
// argument k it uses two Redis keys under one hash tag, so that Redis Cluster keeps them on
// one slot: "{k}:state" holds the state's JSON, the versioned format every runtime of
// caspio-auth writes, and "{k}:lock" the lock. The npm package's redisStorage(client, k)
// uses the same keys, the same lock and the same scripts: a Go service and a Node job given
// the same key share one token. The state expires when no token in it can be used any more
// (the expiry the core derives); the client secret is never written.
//
// # The lock
//
// The standard single-instance lock: SET "{k}:lock" to a random value with NX and a TTL;
// only the holder deletes it (compare-and-delete in a Lua script); the holder extends it
// while it holds it, that is while its token request runs; waiters try again after a pause
// that doubles, with jitter, and give up when the client's lock step times out, going on
// without the lock. The TTL, the extension interval and the pauses are the core's
// (caspio.StoreLock), the timeout too (caspio.LockTimeout): every store and runtime
// sharing a lock uses the same. A holder that crashed delays the others by at most the TTL.
//
// A lock can still fail to exclude: a holder paused longer than the TTL (a stopped VM, a
// lost network) finds another holder in when it resumes, and a failover to a replica that
// had not yet received the lock forgets it. So the write does not trust the lock: it is one
// Lua script that stores the new state only if the stored one is not newer, by the revision
// the core gives every state it writes (the number of its token requests, the rule by which
// the core adopts a stored state). What a lock failure can then cost is bounded: a second
// token request (a duplicate login spends one refresh token of the 1,000), never a newer
// state replaced by an older one, and never a wrong token handed out, since the core checks
// every state it reads. That is why a single-instance lock is enough here. Redlock (the lock
// taken on a majority of independent Redis masters) would keep the lock through the loss of
// one master, making a duplicate token request rarer still; it costs several servers and
// round trips per acquisition, and it still cannot exclude a paused holder without fencing,
// which is what the conditional write is.
//
// # Faults
//
// The client treats a failing store as it treats a failing file: it goes on with the token
// in memory, logging in on its own if it must, and reports the failure with a storage_error
// event; nothing here panics. Redis down or a read-only replica: storage_error, and the
// client works alone until Redis is back. A value under "{k}:state" that is not a state of
// this client's (corrupt text, another program's JSON): discarded with a state_discarded
// event and replaced at the next write. A list or hash under it: storage_error, and it is
// left alone, since it is another program's data. Errors name the key and what failed, never
// a stored value.
//
// A slow Redis costs the client at most the go-redis client's own timeouts per command
// (ReadTimeout and WriteTimeout, 3 seconds by default), or the client's token timeout
// where the go-redis client is made with ContextTimeoutEnabled.
//
// This package uses github.com/redis/go-redis/v9, the client the Redis project maintains,
// through redis.UniversalClient, which a single-node client, a failover client and a
// cluster client all implement. It is a module of its own so that programs that do not use
// Redis do not download go-redis.
package redisstore

import (
	"context"
	crand "crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/redis/go-redis/v9"
)

// DefaultKey is the key a Store uses when New is given an empty one.
const DefaultKey = "caspio-token"

// maxState bounds what Load accepts: a state is a few hundred bytes.
const maxState = 1 << 20

// maxKey bounds the key argument, as the npm package's redisStorage does.
const maxKey = 512

// The scripts, shared with the npm package's redisStorage (js/redis-storage.js holds the
// same text): change both or neither.
var (
	//go:embed scripts/save.lua
	saveSource string
	//go:embed scripts/extend.lua
	extendSource string
	//go:embed scripts/release.lua
	releaseSource string
)

// Store keeps the token state under one key of a Redis server. Make it with New; it is safe
// for concurrent use.
type Store struct {
	rdb      redis.UniversalClient
	key      string
	stateKey string
	lockKey  string
	bad      error // why the arguments of New cannot work, returned by every method
	save     *redis.Script
	extend   *redis.Script
	release  *redis.Script
}

// New returns a Store that keeps the state of one client in rdb under key (DefaultKey if
// empty): give each client ID its own key. Nothing is sent to Redis before the first Load,
// Save or Lock. Arguments that cannot work (a nil rdb, a key with a brace, which would break
// the hash tag) give a Store whose every method returns an error saying so.
func New(rdb redis.UniversalClient, key string) *Store {
	if key == "" {
		key = DefaultKey
	}
	s := &Store{
		rdb: rdb, key: key, stateKey: "{" + key + "}:state", lockKey: "{" + key + "}:lock",
		save: redis.NewScript(saveSource), extend: redis.NewScript(extendSource), release: redis.NewScript(releaseSource),
	}
	switch {
	case rdb == nil:
		s.bad = errors.New("redisstore: New was given a nil redis client; pass one made with redis.NewClient, redis.NewFailoverClient or redis.NewClusterClient")
	case len(key) > maxKey:
		s.bad = fmt.Errorf("redisstore: the key is %d bytes long; use at most %d", len(key), maxKey)
	case strings.ContainsAny(key, "{}"):
		s.bad = errors.New("redisstore: the key must not contain { or }: the store puts it between braces, as the hash tag that keeps the state and the lock on one Redis Cluster slot")
	}
	return s
}

// Key returns the key argument: the state is under "{key}:state" and the lock under
// "{key}:lock".
func (s *Store) Key() string { return s.key }

// String describes the store without its contents.
func (s *Store) String() string { return "caspio redis store {" + s.key + "}" }

// Format prints String for every verb, so that no verb prints what the store holds.
func (s *Store) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// Load returns the stored state's JSON, or (nil, nil) when none is stored (or it expired).
func (s *Store) Load(ctx context.Context) ([]byte, error) {
	if s.bad != nil {
		return nil, s.bad
	}
	data, err := s.rdb.Get(ctx, s.stateKey).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil
	case err != nil:
		return nil, s.fail(ctx, "read the token state from", err)
	case len(data) > maxState:
		return nil, &caspio.StateError{Problem: fmt.Sprintf("redis key %s holds %d bytes, more than a token state; it is replaced at the next save", s.stateKey, len(data))}
	case len(data) == 0:
		return nil, nil
	}
	return data, nil
}

// Save stores state without expiry, unless the stored state is newer (see SaveUntil).
func (s *Store) Save(ctx context.Context, state []byte) error {
	return s.SaveUntil(ctx, state, time.Time{}, 0)
}

// SaveUntil stores state, to expire after ttl (none if zero), in one Lua script that keeps
// the stored state instead when it is this client's and newer: its revision (or, for a
// state without one, its count of token requests) is higher. A state kept so is not an
// error: the client reads it at its next acquisition.
func (s *Store) SaveUntil(ctx context.Context, state []byte, _ time.Time, ttl time.Duration) error {
	if s.bad != nil {
		return s.bad
	}
	if err := s.save.Run(ctx, s.rdb, []string{s.stateKey}, state, ttl.Milliseconds()).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return s.fail(ctx, "write the token state to", err)
	}
	return nil
}

// Lock takes the lock "{key}:lock" as caspio.StoreLock says, waiting until ctx ends; the
// function it returns releases it. While the lock is held, it is extended every
// StoreLock().Extend. A failure of Redis ends the wait at once with an error: the client
// then goes on without the lock.
func (s *Store) Lock(ctx context.Context) (func() error, error) {
	if s.bad != nil {
		return nil, s.bad
	}
	p := caspio.StoreLock()
	ttl := duration(p.TTL)
	me := crand.Text()
	for attempt := 1; ; attempt++ {
		// One try waits for Redis at most an extension interval: a lock whose server
		// answers slower could not be kept anyway.
		tctx, cancel := context.WithTimeout(ctx, duration(p.Extend))
		ok, err := s.rdb.SetNX(tctx, s.lockKey, me, ttl).Result()
		cancel()
		if err != nil {
			// The command may have taken the lock all the same (its answer was lost or
			// late): release it in the background, so that it does not stall the others
			// for its TTL.
			go func() {
				rctx, cancel := context.WithTimeout(context.Background(), duration(p.Extend))
				defer cancel()
				_ = s.release.Run(rctx, s.rdb, []string{s.lockKey}, me).Err()
			}()
			return nil, s.fail(ctx, "take the lock", err)
		}
		if ok {
			return s.held(me, p), nil
		}
		if err := sleep(ctx, duration(p.Backoff(attempt, rand.Float64()))); err != nil {
			return nil, fmt.Errorf("redisstore: wait for the lock %s: %w (another process holds it; a holder that died lets it lapse within %s)", s.lockKey, err, ttl)
		}
	}
}

// held extends the lock every p.Extend until the returned function releases it.
func (s *Store) held(me string, p caspio.LockPolicy) func() error {
	ttl := duration(p.TTL)
	stop := client.KeepLock(p, func() {
		ctx, cancel := context.WithTimeout(context.Background(), duration(p.Extend))
		defer cancel()
		// A failed extension is not fatal: the release says whether the lock was lost.
		_ = s.extend.Run(ctx, s.rdb, []string{s.lockKey}, me, ttl.Milliseconds()).Err()
	})
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() {
			stop()
			ctx, cancel := context.WithTimeout(context.Background(), duration(p.Extend))
			defer cancel()
			n, rerr := s.release.Run(ctx, s.rdb, []string{s.lockKey}, me).Int()
			switch {
			case rerr != nil:
				err = s.fail(ctx, "release the lock", rerr)
			case n == 0:
				err = fmt.Errorf("redisstore: release the lock %s: it had lapsed and another process may have taken it (Redis unreachable for longer than %s while this one held it?); the conditional write kept any newer state", s.lockKey, ttl)
			}
		})
		return err
	}
}

// fail describes a failed command: the key, what failed and, where it helps, the fix. Redis
// errors name the command and the problem, never a stored value.
func (s *Store) fail(ctx context.Context, what string, err error) error {
	where := s.stateKey
	if strings.Contains(what, "lock") {
		where = s.lockKey
	}
	fix := ""
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "WRONGTYPE"):
		kind := "a value of another type"
		if t, terr := s.rdb.Type(ctx, where).Result(); terr == nil && t != "" {
			kind = "a " + t
		}
		fix = fmt.Sprintf("; the key holds %s, not a token state: it is another program's, so it is left alone: choose another key, or delete it", kind)
	case strings.HasPrefix(msg, "READONLY"):
		fix = "; the client is connected to a read-only replica: connect it to the primary (a failover or cluster client finds it)"
	case strings.HasPrefix(msg, "NOSCRIPT"), strings.Contains(msg, "unknown command"):
		fix = "; the server must run Lua scripts (EVAL and EVALSHA)"
	}
	return fmt.Errorf("redisstore: %s redis key %s: %w%s", what, where, err, fix)
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func duration(m caspio.Millis) time.Duration { return time.Duration(m) * time.Millisecond }
