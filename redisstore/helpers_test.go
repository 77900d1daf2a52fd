package redisstore_test

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/sandbox"
	"github.com/redis/go-redis/v9"
)

// TestMain silences go-redis's own log of failed dials: the fault tests cause them on
// purpose, and what the client reports of them is what the tests check.
func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	os.Exit(m.Run())
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// redisServer is a redis-server process of one test, without persistence, on 127.0.0.1.
type redisServer struct {
	t    *testing.T
	Addr string
	Port int
	args []string
	cmd  *exec.Cmd
}

// startRedis starts redis-server on a free port (with extra arguments, such as
// --replicaof) and stops it by its PID when the test ends.
func startRedis(t *testing.T, extra ...string) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (Debian: apt-get install redis-server); build.sh test installs it")
	}
	port := freePort(t)
	s := &redisServer{t: t, Port: port, Addr: "127.0.0.1:" + strconv.Itoa(port), args: extra}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start starts the server again on the same port, empty.
func (s *redisServer) Start() {
	s.t.Helper()
	args := append([]string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}, s.args...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer rdb.Close()
	for i := 0; i < 200; i++ {
		if rdb.Ping(context.Background()).Err() == nil {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	s.t.Fatalf("redis-server on %s did not answer PING within 5 s", s.Addr)
}

// Stop stops the server by its PID and waits for it.
func (s *redisServer) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Client returns a go-redis client of the server, closed when the test ends.
func (s *redisServer) Client(t *testing.T) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// world is the sandbox on loopback and the config of a client of it.
type world struct {
	sb  *sandbox.Server
	cfg caspio.Config
}

func newWorld(t *testing.T) *world {
	sb := sandbox.New(sandbox.Options{})
	ts := httptest.NewServer(sb)
	t.Cleanup(ts.Close)
	return &world{sb: sb, cfg: caspio.Config{
		IntegrationURL: ts.URL,
		ClientID:       sandbox.DefaultClientID,
		ClientSecret:   caspio.NewSecret(sandbox.DefaultClientSecret),
	}}
}

func (w *world) logins() int { return w.sb.Stats().TokenRequests["client_credentials"] }

func (w *world) refreshes() int { return w.sb.Stats().TokenRequests["refresh_token"] }

// events records a client's events.
type events struct {
	mu   sync.Mutex
	list []client.Event
}

func (e *events) add(ev client.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
}

// kinds lists the kinds seen, with the error of each that has one.
func (e *events) kinds() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.list {
		out = append(out, ev.Kind)
	}
	return out
}

func (e *events) has(kind string) bool {
	for _, k := range e.kinds() {
		if k == kind {
			return true
		}
	}
	return false
}

// texts are every error text the events carry, for the secrets check.
func (e *events) texts() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.list {
		if ev.Err != nil {
			out = append(out, ev.Err.Error(), fmt.Sprintf("%+v", ev.Err))
		}
	}
	return out
}

// newClient makes a client of w on store, recording its events.
func (w *world) newClient(t *testing.T, store client.Store, timeout time.Duration) (*client.Client, *events) {
	t.Helper()
	ev := &events{}
	c, err := client.New(w.cfg, client.Options{Store: store, OnEvent: ev.add, TokenTimeout: timeout, Now: w.sb.Now})
	if err != nil {
		t.Fatal(err)
	}
	return c, ev
}

// noSecrets fails the test if a text holds the client secret or a token.
func noSecrets(t *testing.T, texts []string, secrets ...string) {
	t.Helper()
	secrets = append(secrets, sandbox.DefaultClientSecret)
	for _, text := range texts {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("a secret in %q", text)
			}
		}
	}
}
