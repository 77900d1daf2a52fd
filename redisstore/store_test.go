package redisstore_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/redisstore"
	"github.com/redis/go-redis/v9"
)

// state is a state's JSON for client id at token URL url, with n token requests.
func state(id, url string, n int, revision bool, token string) []byte {
	m := map[string]any{
		"version": 1, "client_id": id, "token_url": url,
		"counters":     map[string]any{"client_credentials_requests": n, "refresh_token_requests": 0, "logins": n, "refreshes": 0},
		"access_token": token, "obtained_at": 1, "expires_at": 2,
	}
	if revision {
		m["revision"] = n
	}
	b, _ := json.Marshal(m)
	return b
}

func TestKeysAndExpiry(t *testing.T) {
	srv := startRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	s := redisstore.New(rdb, "caspio:orders-app")
	if got, err := s.Load(ctx); got != nil || err != nil {
		t.Fatalf("empty store: %q, %v", got, err)
	}
	data := state("id", "u", 1, true, "at-1")
	if err := s.SaveUntil(ctx, data, time.Now().Add(time.Hour), time.Hour); err != nil {
		t.Fatal(err)
	}
	raw, err := rdb.Get(ctx, "{caspio:orders-app}:state").Bytes()
	if err != nil || string(raw) != string(data) {
		t.Fatalf("the state is not under {key}:state: %q, %v", raw, err)
	}
	if ttl := rdb.PTTL(ctx, "{caspio:orders-app}:state").Val(); ttl < 59*time.Minute || ttl > time.Hour {
		t.Errorf("expiry %s, want the TTL given, an hour", ttl)
	}
	if err := s.Save(ctx, state("id", "u", 2, true, "at-2")); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, "{caspio:orders-app}:state").Val(); ttl != -1 {
		t.Errorf("Save without expiry left a TTL of %s", ttl)
	}
	got, _ := s.Load(ctx)
	if !strings.Contains(string(got), "at-2") {
		t.Errorf("Load gave %q", got)
	}
	if s.Key() != "caspio:orders-app" || !strings.Contains(s.String(), "caspio:orders-app") {
		t.Errorf("Key %q, String %q", s.Key(), s.String())
	}
	if def := redisstore.New(rdb, ""); def.Key() != redisstore.DefaultKey {
		t.Errorf("empty key gives %q", def.Key())
	}
}

func TestBadArguments(t *testing.T) {
	srv := startRedis(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		s    *redisstore.Store
		want string
	}{
		{"nil client", redisstore.New(nil, "k"), "nil redis client"},
		{"a brace in the key", redisstore.New(srv.Client(t), "a{b}"), "must not contain { or }"},
		{"a long key", redisstore.New(srv.Client(t), strings.Repeat("k", 600)), "at most 512"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, lerr := tc.s.Load(ctx)
			serr := tc.s.Save(ctx, []byte("{}"))
			_, kerr := tc.s.Lock(ctx)
			for _, err := range []error{lerr, serr, kerr} {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("got %v, want an error saying %q", err, tc.want)
				}
			}
		})
	}
}

// The write keeps a stored state of the same client that is newer; anything else is
// replaced.
func TestConditionalWrite(t *testing.T) {
	srv := startRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	s := redisstore.New(rdb, "cw")
	for _, tc := range []struct {
		name        string
		stored, new []byte
		kept        bool
	}{
		{"an older revision is replaced", state("id", "u", 3, true, "old"), state("id", "u", 4, true, "new"), false},
		{"an equal revision is replaced", state("id", "u", 4, true, "old"), state("id", "u", 4, true, "new"), false},
		{"a newer revision is kept", state("id", "u", 5, true, "old"), state("id", "u", 4, true, "new"), true},
		{"a newer state without revision (an older writer) is kept", state("id", "u", 5, false, "old"), state("id", "u", 4, true, "new"), true},
		{"an older state without revision is replaced", state("id", "u", 3, false, "old"), state("id", "u", 4, true, "new"), false},
		{"another client's state is replaced", state("other", "u", 9, true, "old"), state("id", "u", 4, true, "new"), false},
		{"another endpoint's state is replaced", state("id", "v", 9, true, "old"), state("id", "u", 4, true, "new"), false},
		{"text that is not JSON is replaced", []byte("{not json"), state("id", "u", 1, true, "new"), false},
		{"JSON that is not a state is replaced", []byte(`[1,2,3]`), state("id", "u", 1, true, "new"), false},
		{"a revision that is not a number counts the requests", []byte(`{"client_id":"id","token_url":"u","revision":"99","counters":{"client_credentials_requests":2}}`), state("id", "u", 3, true, "new"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := rdb.Set(ctx, "{cw}:state", tc.stored, 0).Err(); err != nil {
				t.Fatal(err)
			}
			if err := s.Save(ctx, tc.new); err != nil {
				t.Fatalf("Save: %v (a kept state is not an error)", err)
			}
			got, _ := rdb.Get(ctx, "{cw}:state").Bytes()
			want := tc.new
			if tc.kept {
				want = tc.stored
			}
			if string(got) != string(want) {
				t.Errorf("stored %s, want %s", got, want)
			}
		})
	}
}

func TestLockExcludesAndExtends(t *testing.T) {
	srv := startRedis(t)
	rdb := srv.Client(t)
	s := redisstore.New(rdb, "lk")
	unlock, err := s.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ttl := time.Duration(caspio.StoreLock().TTL) * time.Millisecond
	if got := rdb.PTTL(context.Background(), "{lk}:lock").Val(); got <= 0 || got > ttl {
		t.Errorf("lock TTL %s, want at most %s", got, ttl)
	}
	// A second taker waits until ctx ends.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := redisstore.New(rdb, "lk").Lock(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a second Lock gave %v, want the deadline", err)
	}
	// The holder extends it: after one extension interval and a bit, the TTL is back near
	// the full TTL.
	extend := time.Duration(caspio.StoreLock().Extend) * time.Millisecond
	time.Sleep(extend + 300*time.Millisecond)
	if got := rdb.PTTL(context.Background(), "{lk}:lock").Val(); got < ttl-extend/2 {
		t.Errorf("after %s the lock's TTL is %s: it was not extended", extend+300*time.Millisecond, got)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(context.Background(), "{lk}:lock").Val(); n != 0 {
		t.Error("unlock left the lock")
	}
	if err := unlock(); err != nil {
		t.Errorf("a second unlock: %v", err)
	}
}

// A lock left by a dead holder is taken over once its TTL lapses; a holder whose lock was
// taken over is told so at unlock, and does not delete the new holder's lock.
func TestLockDeadHolderAndLostLock(t *testing.T) {
	srv := startRedis(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	rdb.Set(ctx, "{dh}:lock", "a-dead-holder", 800*time.Millisecond)
	start := time.Now()
	unlock, err := redisstore.New(rdb, "dh").Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 600*time.Millisecond || waited > 3*time.Second {
		t.Errorf("took the dead holder's lock after %s, want about its TTL (800 ms)", waited)
	}
	// Another process takes the lock as if this holder had lapsed.
	rdb.Set(ctx, "{dh}:lock", "the-next-holder", time.Minute)
	if err := unlock(); err == nil || !strings.Contains(err.Error(), "lapsed") {
		t.Errorf("unlock of a lock taken over gave %v", err)
	}
	if v := rdb.Get(ctx, "{dh}:lock").Val(); v != "the-next-holder" {
		t.Errorf("unlock deleted the next holder's lock: %q", v)
	}
}

// blackHole is a listener that accepts connections and never answers.
func blackHole(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			go func() { _, _ = bufio.NewReader(c).ReadString(0) }()
		}
	}()
	return l.Addr().String()
}

// Faults: the client keeps working, says so with events, never panics and never shows a
// secret; the client secret is never written to Redis.
func TestClientFaults(t *testing.T) {
	type setup struct {
		rdb      redis.UniversalClient
		srv      *redisServer
		prepare  func(t *testing.T, rdb redis.UniversalClient)
		timeout  time.Duration
		want     string // the event the fault gives
		maxTaken time.Duration
	}
	cases := map[string]func(t *testing.T) setup{
		"Redis down at start": func(t *testing.T) setup {
			return setup{rdb: redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(freePort(t)), MaxRetries: -1}), want: "storage_error", maxTaken: 10 * time.Second}
		},
		"a corrupt value": func(t *testing.T) setup {
			srv := startRedis(t)
			return setup{rdb: srv.Client(t), srv: srv, want: "state_discarded", prepare: func(t *testing.T, rdb redis.UniversalClient) {
				rdb.Set(context.Background(), "{f}:state", `{"version":1,"client_id":`, 0)
			}}
		},
		"a foreign value": func(t *testing.T) setup {
			srv := startRedis(t)
			return setup{rdb: srv.Client(t), srv: srv, want: "state_discarded", prepare: func(t *testing.T, rdb redis.UniversalClient) {
				rdb.Set(context.Background(), "{f}:state", `{"session":"abc","user":42}`, 0)
			}}
		},
		"a list under the key": func(t *testing.T) setup {
			srv := startRedis(t)
			return setup{rdb: srv.Client(t), srv: srv, want: "storage_error", prepare: func(t *testing.T, rdb redis.UniversalClient) {
				rdb.RPush(context.Background(), "{f}:state", "a", "b")
			}}
		},
		"a hash under the key": func(t *testing.T) setup {
			srv := startRedis(t)
			return setup{rdb: srv.Client(t), srv: srv, want: "storage_error", prepare: func(t *testing.T, rdb redis.UniversalClient) {
				rdb.HSet(context.Background(), "{f}:state", "a", "b")
			}}
		},
		"a read-only replica": func(t *testing.T) setup {
			primary := startRedis(t)
			replica := startRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(primary.Port))
			return setup{rdb: replica.Client(t), want: "storage_error"}
		},
		"Redis answering slowly past the token timeout": func(t *testing.T) setup {
			addr := blackHole(t)
			return setup{rdb: redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, ReadTimeout: 400 * time.Millisecond, WriteTimeout: 400 * time.Millisecond}), timeout: 300 * time.Millisecond, want: "storage_error", maxTaken: 10 * time.Second}
		},
		"Redis answering slowly, with context timeouts": func(t *testing.T) setup {
			addr := blackHole(t)
			return setup{rdb: redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, ContextTimeoutEnabled: true}), timeout: 300 * time.Millisecond, want: "storage_error", maxTaken: 10 * time.Second}
		},
	}
	for name, make := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			su := make(t)
			defer su.rdb.Close()
			if su.prepare != nil {
				su.prepare(t, su.rdb)
			}
			timeout := su.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			// The token requests have their own, longer timeout in the slow case: the
			// client's TokenTimeout bounds them and the store's calls alike.
			c, ev := w.newClient(t, redisstore.New(su.rdb, "f"), max(timeout, 2*time.Second))
			start := time.Now()
			tok, err := c.Token(context.Background())
			if err != nil {
				t.Fatalf("Token: %v (events %v)", err, ev.kinds())
			}
			if taken := time.Since(start); su.maxTaken > 0 && taken > su.maxTaken {
				t.Errorf("Token took %s", taken)
			} else {
				t.Logf("Token took %s; events %v", taken.Round(time.Millisecond), ev.kinds())
			}
			if w.logins() != 1 {
				t.Errorf("%d logins, want 1", w.logins())
			}
			if !ev.has(su.want) {
				t.Errorf("events %v, want %s", ev.kinds(), su.want)
			}
			noSecrets(t, ev.texts(), tok.AccessToken.Reveal())
			// The token in memory serves the next call without a token request.
			if _, err := c.Token(context.Background()); err != nil || w.logins() != 1 {
				t.Errorf("second Token: %v, %d logins", err, w.logins())
			}
			if su.srv != nil {
				checkNoSecretStored(t, su.srv.Client(t))
			}
		})
	}
}

// checkNoSecretStored fails if any value in Redis holds the client secret.
func checkNoSecretStored(t *testing.T, rdb *redis.Client) {
	t.Helper()
	ctx := context.Background()
	for _, k := range rdb.Keys(ctx, "*").Val() {
		if rdb.Type(ctx, k).Val() != "string" {
			continue
		}
		if strings.Contains(rdb.Get(ctx, k).Val(), "sandbox-secret") {
			t.Errorf("the client secret is stored under %s", k)
		}
	}
}

// Redis lost mid-run and back: the client keeps its token through the loss (reporting it),
// and once Redis is back the state is shared again.
func TestRedisLostAndBack(t *testing.T) {
	srv := startRedis(t)
	w := newWorld(t)
	rdb := srv.Client(t)
	a, _ := w.newClient(t, redisstore.New(rdb, "lb"), 2*time.Second)
	if _, err := a.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	// A token in memory needs no Redis.
	if _, err := a.Token(context.Background()); err != nil {
		t.Fatalf("Token with Redis down and a valid token: %v", err)
	}
	// A refresh with Redis down: done alone, reported.
	b, evb := w.newClient(t, redisstore.New(rdb, "lb"), 2*time.Second)
	if _, err := b.Token(context.Background()); err != nil {
		t.Fatalf("a new client with Redis down: %v", err)
	}
	if !evb.has("storage_error") {
		t.Errorf("events %v, want storage_error", evb.kinds())
	}
	srv.Start() // back, empty
	if _, err := a.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh with Redis back: %v", err)
	}
	c, evc := w.newClient(t, redisstore.New(srv.Client(t), "lb"), 2*time.Second)
	before := w.logins() + w.refreshes()
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if after := w.logins() + w.refreshes(); after != before {
		t.Errorf("a new client made %d token requests with a valid token in Redis (events %v)", after-before, evc.kinds())
	}
	if tok.AccessToken.IsZero() {
		t.Error("no token")
	}
}

// The warm path sends nothing to Redis while the token is valid.
func TestWarmPathTouchesNoRedis(t *testing.T) {
	srv := startRedis(t)
	w := newWorld(t)
	rdb := srv.Client(t)
	c, _ := w.newClient(t, redisstore.New(rdb, "warm"), 2*time.Second)
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		if _, err := c.Token(ctx); err != nil {
			t.Fatal(err)
		}
	}
	stats := rdb.Info(ctx, "commandstats").Val()
	var calls []string
	for _, line := range strings.Split(stats, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "cmdstat_") && !strings.HasPrefix(line, "cmdstat_info") && !strings.HasPrefix(line, "cmdstat_config") {
			calls = append(calls, line)
		}
	}
	if len(calls) > 0 {
		t.Errorf("1,000 Token calls with a valid token sent commands to Redis: %v", calls)
	}
}
