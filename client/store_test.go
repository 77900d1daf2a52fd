package client_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/sandbox"
)

func TestFileStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()

	t.Run("missing file loads as nothing", func(t *testing.T) {
		data, err := client.NewFileStore(filepath.Join(dir, "none", "state.json")).Load(ctx)
		require.NoError(t, err)
		assert.Nil(t, data)
	})
	t.Run("save creates a private directory and file, atomically", func(t *testing.T) {
		path := filepath.Join(dir, "sub", "deeper", "state.json")
		s := client.NewFileStore(path)
		for _, content := range []string{`{"a":1}`, `{"b":2}`} {
			require.NoError(t, s.Save(ctx, []byte(content)))
			data, err := s.Load(ctx)
			require.NoError(t, err)
			assert.Equal(t, content, string(data))
		}
		if runtime.GOOS != "windows" {
			info, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
			info, err = os.Stat(filepath.Dir(path))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())
		}
		entries, err := os.ReadDir(filepath.Dir(path))
		require.NoError(t, err)
		require.Len(t, entries, 1, "no temporary file is left behind")
		assert.Equal(t, "state.json", entries[0].Name())
	})
	t.Run("errors name the path and the fix", func(t *testing.T) {
		blocker := filepath.Join(dir, "a-file")
		require.NoError(t, os.WriteFile(blocker, []byte("x"), 0o600))
		path := filepath.Join(blocker, "state.json") // a directory that is a file
		s := client.NewFileStore(path)
		err := s.Save(ctx, []byte(`{"secret":"`+testSecret+`"}`))
		require.Error(t, err)
		assert.Contains(t, err.Error(), path)
		assert.NotContains(t, err.Error(), testSecret)
		_, err = s.Load(ctx)
		require.Error(t, err)
		assert.Contains(t, err.Error(), path)
	})
	t.Run("permission denied names the fix", func(t *testing.T) {
		if runtime.GOOS == "windows" || os.Geteuid() == 0 {
			t.Skip("permissions do not bind here (Windows, or running as root)")
		}
		locked := filepath.Join(dir, "locked")
		require.NoError(t, os.Mkdir(locked, 0o500))
		err := client.NewFileStore(filepath.Join(locked, "state.json")).Save(ctx, []byte("{}"))
		require.ErrorIs(t, err, os.ErrPermission)
		assert.Contains(t, err.Error(), "give this program's user read and write access")
	})
	t.Run("lock excludes and honours the context", func(t *testing.T) {
		path := filepath.Join(dir, "locked", "state.json")
		a, b := client.NewFileStore(path), client.NewFileStore(path)
		unlock, err := a.Lock(ctx)
		require.NoError(t, err)
		// The lock file holds its owner (docs/token-file.md), private to this user.
		var owner struct {
			Host  string
			PID   int
			Nonce string
			At    int64
		}
		raw, err := os.ReadFile(path + ".lock")
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &owner))
		host, _ := os.Hostname()
		assert.Equal(t, host, owner.Host)
		assert.Equal(t, os.Getpid(), owner.PID)
		assert.NotEmpty(t, owner.Nonce)
		assert.InDelta(t, time.Now().UnixMilli(), owner.At, 5000)
		if runtime.GOOS != "windows" {
			info, err := os.Stat(path + ".lock")
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
		}
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = b.Lock(short)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), path+".lock")
		assert.Contains(t, err.Error(), fmt.Sprintf("(held by process %d on %s)", os.Getpid(), host))
		assert.Less(t, time.Since(start), time.Second)
		require.NoError(t, unlock())
		unlock, err = b.Lock(ctx)
		require.NoError(t, err)
		require.NoError(t, unlock())
		assertOnly(t, filepath.Dir(path))
	})
}

// assertOnly asserts that dir holds the named files and nothing else: no lock, no
// temporary file.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	got := []string{}
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if names == nil {
		names = []string{}
	}
	assert.ElementsMatch(t, names, got)
}

// deadPID returns the ID of a process that has exited and been waited for.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0") // a race build waits 1 s at exit
	require.NoError(t, cmd.Run())
	return cmd.Process.Pid
}

// ownerRecord is a lock file's content as docs/token-file.md describes it: this process's
// unless fields say otherwise.
func ownerRecord(t *testing.T, fields map[string]any) string {
	t.Helper()
	host, _ := os.Hostname()
	o := map[string]any{"host": host, "pid": os.Getpid(), "nonce": fmt.Sprint(time.Now().UnixNano()), "at": time.Now().UnixMilli()}
	for k, v := range fields {
		o[k] = v
	}
	data, err := json.Marshal(o)
	require.NoError(t, err)
	return string(data)
}

func TestFileStoreLockTakeover(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("a dead process is not recognised on Windows: its lock goes after the stale timeout")
	}
	dead := deadPID(t)
	cases := []struct {
		name      string
		content   string
		age       time.Duration
		takenOver bool // at once; otherwise honoured
	}{
		{"a process on this host that died", ownerRecord(t, map[string]any{"pid": dead}), 0, true},
		{"a live process elsewhere, refreshed lately", ownerRecord(t, map[string]any{"host": "elsewhere"}), 0, false},
		{"a live process elsewhere, not refreshed for longer than the stale timeout", ownerRecord(t, map[string]any{"host": "elsewhere"}), 31 * time.Second, true},
		{"a live process elsewhere, not refreshed for longer than the core's lock TTL", ownerRecord(t, map[string]any{"host": "elsewhere"}), time.Duration(caspio.StoreLock().TTL+1000) * time.Millisecond, true},
		{"a live process elsewhere, refreshed within the core's lock TTL", ownerRecord(t, map[string]any{"host": "elsewhere"}), time.Duration(caspio.StoreLock().TTL-1000) * time.Millisecond, false},
		{"this process, through another FileStore", ownerRecord(t, nil), 0, false},
		{"empty: a holder without hard links that has not written its owner yet", "", 0, false},
		{"empty, older than 2 s: that holder died", "", 2500 * time.Millisecond, true},
		{"not an owner record, older than 2 s (an older release's lock)", "x", 3 * time.Second, true},
		{"an owner record with a pid that is not one", ownerRecord(t, map[string]any{"pid": 0}), 2500 * time.Millisecond, true},
		{"an owner record with a string for its pid", ownerRecord(t, map[string]any{"pid": strconv.Itoa(dead)}), 2500 * time.Millisecond, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "token.json")
			require.NoError(t, os.WriteFile(path+".lock", []byte(tc.content), 0o600))
			at := time.Now().Add(-tc.age)
			require.NoError(t, os.Chtimes(path+".lock", at, at))
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			unlock, err := client.NewFileStore(path).Lock(ctx)
			if !tc.takenOver {
				require.ErrorIs(t, err, context.DeadlineExceeded)
				return
			}
			require.NoError(t, err)
			assert.Less(t, time.Since(start), time.Second, "well under the 2 s and the lock TTL that a live holder's lock is honoured")
			raw, err := os.ReadFile(path + ".lock")
			require.NoError(t, err)
			assert.NotEqual(t, tc.content, string(raw))
			require.NoError(t, unlock())
			assertOnly(t, filepath.Dir(path))
		})
	}
}

func TestFileStoreLockRefreshed(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "token.json")
	holder, waiter := client.NewFileStore(path), client.NewFileStore(path)
	client.SetStaleLock(holder, time.Second) // refreshed every 167 ms
	client.SetStaleLock(waiter, time.Second)
	unlock, err := holder.Lock(context.Background())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = waiter.Lock(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "a held lock is never stale")
	require.NoError(t, unlock(), "and still the holder's")

	// A holder that lost its lock says so when it releases.
	unlock, err = holder.Lock(context.Background())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path+".lock", []byte(ownerRecord(t, map[string]any{"host": "elsewhere"})), 0o600))
	assert.ErrorContains(t, unlock(), "another process took the lock over")
}

func TestFileStoreLockRace(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("a dead process is not recognised on Windows")
	}
	path := filepath.Join(t.TempDir(), "token.json")
	dead := deadPID(t)
	var holders, most atomic.Int32
	for range 20 {
		require.NoError(t, os.WriteFile(path+".lock", []byte(ownerRecord(t, map[string]any{"pid": dead})), 0o600))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				// Staggered by a few system calls' time, so that some waiters find the
				// next holder's lock where the dead one was.
				time.Sleep(time.Duration(i%6) * 5 * time.Microsecond)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				unlock, err := client.NewFileStore(path).Lock(ctx)
				if !assert.NoError(t, err) {
					return
				}
				n := holders.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(2 * time.Millisecond)
				holders.Add(-1)
				assert.NoError(t, unlock())
			}()
		}
		close(start)
		wg.Wait()
	}
	assert.Equal(t, int32(1), most.Load(), "one holder at a time")
	assertOnly(t, filepath.Dir(path))
}

func TestFileStoreRemovesDeadWritersTemps(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("a dead process is not recognised on Windows")
	}
	host, _ := os.Hostname()
	sum := sha256.Sum256([]byte(host))
	tag := hex.EncodeToString(sum[:4])
	dead := deadPID(t)
	old := time.Now().Add(-2 * time.Minute)
	files := []struct {
		name  string
		old   bool
		stays bool
	}{
		{fmt.Sprintf(".token.json.tmp-%s-%d-123", tag, dead), false, false},        // its writer died
		{fmt.Sprintf(".token.json.tmp-%s-%d-123", tag, os.Getppid()), false, true}, // a live writer's
		{fmt.Sprintf(".token.json.tmp-%s-%d-456", tag, os.Getppid()), true, false}, // no write takes 2 minutes
		{fmt.Sprintf(".token.json.tmp-00000000-%d-123", dead), false, true},        // another host's, lately
		{".token.json.tmp-123456789", false, true},                                 // an older release's name, lately
		{".token.json.tmp-5f0c3a7e-1b2c-4d5e-8f90-123456789abc", true, false},      // and long ago
		{fmt.Sprintf(".other.json.tmp-%s-%d-123", tag, dead), false, true},         // another token file's
	}
	ops := []struct {
		name string
		op   func(*client.FileStore) error
	}{
		{"load", func(s *client.FileStore) error { _, err := s.Load(context.Background()); return err }},
		{"save", func(s *client.FileStore) error { return s.Save(context.Background(), []byte(`{"version":1}`)) }},
		{"lock", func(s *client.FileStore) error {
			unlock, err := s.Lock(context.Background())
			if err == nil {
				err = unlock()
			}
			return err
		}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range files {
				name := filepath.Join(dir, f.name)
				require.NoError(t, os.WriteFile(name, []byte(`{"access_token":"live"}`), 0o600))
				if f.old {
					require.NoError(t, os.Chtimes(name, old, old))
				}
			}
			require.NoError(t, op.op(client.NewFileStore(filepath.Join(dir, "token.json"))))
			for _, f := range files {
				_, err := os.Stat(filepath.Join(dir, f.name))
				assert.Equal(t, f.stays, err == nil, f.name)
			}
		})
	}
}

func TestRestartReusesStoredToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{})
	path := filepath.Join(t.TempDir(), "caspio", "token.json")
	ctx := context.Background()

	first, err := e.client(t, client.Options{Store: client.NewFileStore(path)}).Token(ctx)
	require.NoError(t, err)
	// A new Client on the same file is a restarted process.
	second, err := e.client(t, client.Options{Store: client.NewFileStore(path)}).Token(ctx)
	require.NoError(t, err)
	assert.True(t, second.AccessToken.Equal(first.AccessToken))
	assert.Equal(t, 1, second.Logins)
	cc, rt := e.grants()
	assert.Equal(t, 1, cc, "no second login")
	assert.Equal(t, 0, rt)

	// The file holds the state the core encodes, readable by the owner only.
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var m any
	require.NoError(t, json.Unmarshal(raw, &m))
	s, err := caspio.ParseState(m)
	require.NoError(t, err)
	assert.Equal(t, testID, s.ClientID)
	assert.True(t, s.AccessToken.Equal(first.AccessToken))
	assert.Equal(t, 1, s.Counters.Logins)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
}

func TestStoredStateDiscarded(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		content   string
		discarded bool // a state_discarded event, with a *caspio.StateError
	}{
		{"garbage", "\x00\x01not json at all", true},
		{"truncated", `{"version":1,"client_id":"test-client","token_url":"http://127`, true},
		{"not an object", `[1,2,3]`, true},
		{"future version", `{"version":99,"client_id":"test-client","token_url":"x"}`, true},
		{"missing token_url", `{"version":1,"client_id":"test-client"}`, true},
		{"access token without expiry", `{"version":1,"client_id":"test-client","token_url":"TOKEN_URL","access_token":"abc"}`, true},
		{"another client's state", `{"version":1,"client_id":"someone-else","token_url":"TOKEN_URL","access_token":"abc","expires_at":9e12}`, false},
		{"empty file", ``, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sandbox.Options{})
			path := filepath.Join(t.TempDir(), "token.json")
			content := strings.ReplaceAll(tc.content, "TOKEN_URL", e.ts.URL+"/oauth/token")
			require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
			var log events
			c := e.client(t, client.Options{Store: client.NewFileStore(path), OnEvent: log.add})
			tok, err := c.Token(context.Background())
			require.NoError(t, err, "a bad stored state is never fatal")
			assert.Equal(t, 1, tok.Logins)
			cc, _ := e.grants()
			assert.Equal(t, 1, cc)

			discarded := log.of(client.EventStateDiscarded)
			if !tc.discarded {
				assert.Empty(t, discarded)
			} else {
				require.Len(t, discarded, 1)
				var se *caspio.StateError
				require.ErrorAs(t, discarded[0].Err, &se)
				assert.Equal(t, []string{client.EventStateDiscarded, client.EventTokenRequest, client.EventLogin}, log.kinds())
			}
			// The file now holds a good state, which a restart reuses.
			_, err = e.client(t, client.Options{Store: client.NewFileStore(path)}).Token(context.Background())
			require.NoError(t, err)
			cc, _ = e.grants()
			assert.Equal(t, 1, cc)
		})
	}
}

// failingStore fails every call, like a store on a full or read-only disk.
type failingStore struct{}

func (failingStore) Load(context.Context) ([]byte, error) { return nil, errors.New("disk on fire") }
func (failingStore) Save(context.Context, []byte) error   { return errors.New("disk on fire") }

func TestStoreFailureKeepsTokenInMemory(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{})
	var log events
	c := e.client(t, client.Options{Store: failingStore{}, OnEvent: log.add})
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.False(t, tok.AccessToken.IsZero())
	storeErrs := log.of(client.EventStoreError)
	require.Len(t, storeErrs, 2, "one for the load, one for the save")
	assert.Contains(t, storeErrs[0].Err.Error(), "load token state")
	assert.Contains(t, storeErrs[1].Err.Error(), "save token state")

	// The token lives on in memory: no second login, even after an expiry.
	e.sb.Advance(24 * time.Hour)
	_, err = c.Token(context.Background())
	require.NoError(t, err)
	cc, rt := e.grants()
	assert.Equal(t, 1, cc)
	assert.Equal(t, 1, rt)
}

// stuckUnlockStore keeps the state in memory and takes its lock at once, but its unlock
// does not return until release is closed: a store that stops answering while held.
type stuckUnlockStore struct {
	client.MemoryStore
	release chan struct{}
}

func (s *stuckUnlockStore) Lock(context.Context) (func() error, error) {
	return func() error { <-s.release; return nil }, nil
}

// The unlock step is bounded by its Timeout (the client's TokenTimeout), as read and write
// are: a store whose unlock hangs costs a storage_error, not a Token call that never returns.
func TestUnlockBoundedByTokenTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{})
	store := &stuckUnlockStore{release: make(chan struct{})}
	defer close(store.release)
	var log events
	c := e.client(t, client.Options{Store: store, OnEvent: log.add, TokenTimeout: 200 * time.Millisecond})
	done := make(chan error, 1)
	go func() {
		_, err := c.Token(context.Background())
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("Token did not return while the store's unlock hung")
	}
	storeErrs := log.of(client.EventStoreError)
	require.Len(t, storeErrs, 1)
	assert.Contains(t, storeErrs[0].Err.Error(), "unlock token state: the store did not release its lock within 200ms")
}

func TestSharedFileStoreLogsInOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Options{})
	// The delay holds the first acquisition under the lock while the others arrive.
	e.fault(t, sandbox.Fault{Route: "/oauth/token", DelayMS: 200})
	path := filepath.Join(t.TempDir(), "token.json")
	const clients, callers = 4, 25
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range clients {
		c := e.client(t, client.Options{Store: client.NewFileStore(path)})
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := c.Token(context.Background())
				assert.NoError(t, err)
			}()
		}
	}
	close(start)
	wg.Wait()
	assert.Equal(t, map[string]int{"client_credentials": 1}, e.sb.Stats().TokenRequests)
}

// helperEnv names the environment of a helper process: the test binary run again as a
// second program sharing the token file.
const helperEnv = "CASPIO_CLIENT_TEST_HELPER"

// TestHelperProcess is not a test: it is the body of the helper process.
func TestHelperProcess(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("runs only as a helper process")
	}
	var h struct {
		URL, Path string
		Churn     bool // lock, load, save and unlock the file until killed (10 s at most)
	}
	if err := json.Unmarshal([]byte(spec), &h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if h.Churn {
		churn(h.Path)
	}
	c, err := client.New(caspio.Config{IntegrationURL: h.URL, ClientID: testID, ClientSecret: caspio.NewSecret(testSecret)},
		client.Options{Store: client.NewFileStore(h.Path)})
	if err == nil {
		var tok *client.Token
		if tok, err = c.Token(context.Background()); err == nil {
			fmt.Printf("logins=%d\n", tok.Logins)
			os.Exit(0)
		}
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// churn is a writer for a test to kill at a random moment: it says "churning", then
// locks, loads, saves what it loaded and unlocks, again and again, for 10 s at most.
func churn(path string) {
	s := client.NewFileStore(path)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println("churning")
	for ctx.Err() == nil {
		unlock, err := s.Lock(ctx)
		if err != nil {
			break
		}
		data, err := s.Load(ctx)
		if err == nil && data != nil {
			err = s.Save(ctx, data)
		}
		if uerr := unlock(); err == nil {
			err = uerr
		}
		if err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(0)
}

func TestFileStoreKilledWriters(t *testing.T) {
	t.Parallel()
	if testing.Short() || runtime.GOOS == "windows" {
		t.Skip("starts and kills processes")
	}
	const lanes, killsPerLane = 4, 50
	state := []byte(`{"access_token":"at-1","client_id":"test-client","counters":{"logins":1},"expires_at":4102444800000,"version":1}`)
	var mu sync.Mutex
	var slowest time.Duration
	temps := map[string]bool{} // left by killed writers, for the next clients to remove
	var wg sync.WaitGroup
	start := time.Now()
	for range lanes {
		dir := t.TempDir()
		path := filepath.Join(dir, "token.json")
		require.NoError(t, os.WriteFile(path, state, 0o600))
		spec, err := json.Marshal(map[string]any{"Path": path, "Churn": true})
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range killsPerLane {
				cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
				cmd.Env = append(os.Environ(), helperEnv+"="+string(spec), "GORACE=atexit_sleep_ms=0")
				out, err := cmd.StdoutPipe()
				require.NoError(t, err)
				require.NoError(t, cmd.Start())
				line, _ := bufio.NewReader(out).ReadString('\n')
				if !assert.Equal(t, "churning\n", line) {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
					return
				}
				time.Sleep(time.Duration(rand.IntN(20_000)) * time.Microsecond)
				require.NoError(t, cmd.Process.Kill()) // SIGKILL: no deferred clean-up runs
				_ = cmd.Wait()
				entries, err := os.ReadDir(dir)
				require.NoError(t, err)
				mu.Lock()
				for _, e := range entries {
					if strings.Contains(e.Name(), ".tmp-") {
						temps[e.Name()] = true
					}
				}
				mu.Unlock()

				// The next client takes the dead writer's lock at once.
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				t0 := time.Now()
				unlock, err := client.NewFileStore(path).Lock(ctx)
				waited := time.Since(t0)
				cancel()
				if !assert.NoError(t, err) {
					return
				}
				assert.NoError(t, unlock())
				mu.Lock()
				slowest = max(slowest, waited)
				mu.Unlock()
			}
			// The file is whole, the next reader removes what the last writer left, and
			// nothing else is left once the lock is released.
			data, err := client.NewFileStore(path).Load(context.Background())
			assert.NoError(t, err)
			assert.Equal(t, string(state), string(data))
			assertOnly(t, dir, "token.json")
		}()
	}
	wg.Wait()
	t.Logf("%d writers killed in %s; temporary files they left: %d (removed by the next client); slowest lock after a kill: %s",
		lanes*killsPerLane, time.Since(start).Round(time.Millisecond), len(temps), slowest.Round(time.Microsecond))
	assert.Less(t, slowest, time.Second, "a dead writer's lock costs the next client no wait")
}

func TestSharedFileStoreAcrossProcesses(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes")
	}
	e := newEnv(t, sandbox.Options{})
	e.fault(t, sandbox.Fault{Route: "/oauth/token", DelayMS: 300})
	path := filepath.Join(t.TempDir(), "token.json")
	spec, err := json.Marshal(map[string]string{"URL": e.ts.URL, "Path": path})
	require.NoError(t, err)

	const processes = 3
	cmds := make([]*exec.Cmd, processes)
	outs := make([]strings.Builder, processes)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+string(spec), "GORACE=atexit_sleep_ms=0")
		cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
		require.NoError(t, cmd.Start())
		cmds[i] = cmd
	}
	// This process takes part too.
	tok, err := e.client(t, client.Options{Store: client.NewFileStore(path), Now: time.Now}).Token(context.Background())
	require.NoError(t, err)
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "helper %d: %s", i, outs[i].String())
		assert.Contains(t, outs[i].String(), "logins=1")
	}
	assert.Equal(t, 1, tok.Logins)
	assert.Equal(t, map[string]int{"client_credentials": 1}, e.sb.Stats().TokenRequests,
		"%d processes sharing one file log in once", processes+1)
}

func TestHourlyRestartsForThirtyDays(t *testing.T) {
	t.Parallel()
	const restarts = 30 * 24
	cases := []struct {
		name      string
		store     func(dir string) client.Store // nil: no store
		logins    int
		refreshes int
	}{
		{"file store", func(dir string) client.Store { return client.NewFileStore(filepath.Join(dir, "token.json")) }, 1, 29},
		{"no store", nil, restarts, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sandbox.Options{})
			dir := t.TempDir()
			for range restarts {
				opts := client.Options{}
				if tc.store != nil {
					opts.Store = tc.store(dir)
				}
				// A restarted program: a new Client, one resource request.
				c := e.client(t, opts)
				req, err := c.NewRequest(context.Background(), "GET", "tables", nil)
				require.NoError(t, err)
				resp, err := c.Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, 200, resp.StatusCode)
				e.sb.Advance(time.Hour)
			}
			cc, rt := e.grants()
			st := e.sb.Stats()
			t.Logf("%s: %d restarts, client_credentials=%d refresh_token=%d refresh tokens minted=%d live=%d",
				tc.name, restarts, cc, rt, st.RefreshTokensMinted, st.RefreshTokensLive)
			assert.Equal(t, tc.logins, cc)
			assert.Equal(t, tc.refreshes, rt)
			assert.Equal(t, tc.logins, st.RefreshTokensMinted)
		})
	}
}

// KeepLock extends a held lock until it is released, and never after: the release waits for
// an extension under way.
func TestKeepLock(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := 0
	first := make(chan struct{})
	stop := client.KeepLock(caspio.LockPolicy{TTL: 30, Extend: 5}, func() {
		mu.Lock()
		defer mu.Unlock()
		if calls++; calls == 1 {
			close(first)
		}
	})
	<-first
	stop()
	mu.Lock()
	after := calls
	mu.Unlock()
	time.Sleep(30 * time.Millisecond) // six extension intervals
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, after, calls, "no extension after the release")
	stop() // a second release is harmless
}
