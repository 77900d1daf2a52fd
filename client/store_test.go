package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
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
		path := filepath.Join(dir, "locked-state.json")
		a, b := client.NewFileStore(path), client.NewFileStore(path)
		unlock, err := a.Lock(ctx)
		require.NoError(t, err)
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = b.Lock(short)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), path+".lock")
		assert.Less(t, time.Since(start), time.Second)
		require.NoError(t, unlock())
		unlock, err = b.Lock(ctx)
		require.NoError(t, err)
		require.NoError(t, unlock())
	})
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
	var h struct{ URL, Path string }
	if err := json.Unmarshal([]byte(spec), &h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
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
		cmd.Env = append(os.Environ(), helperEnv+"="+string(spec))
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
