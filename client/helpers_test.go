package client_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/sandbox"
)

// testSecret is the client secret of every test sandbox: distinctive, so that a leak of it
// into an error or a log line is found by a plain substring search.
const (
	testID     = "test-client"
	testSecret = "s3cret-Zq8vKx1-never-print-me"
)

// seen is one request as it reached a test server.
type seen struct {
	Method        string
	Path          string
	Authorization string
	Body          string
	Header        http.Header
}

// recorder notes every request before it passes it on: instrumentation around the real
// sandbox, not a stand-in for it.
type recorder struct {
	mu   sync.Mutex
	reqs []seen
	next http.Handler
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.reqs = append(r.reqs, seen{req.Method, req.URL.Path, req.Header.Get("Authorization"), string(body), req.Header.Clone()})
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

// requests returns the requests seen on path (all of them when path is "").
func (r *recorder) requests(path string) []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []seen
	for _, s := range r.reqs {
		if path == "" || s.Path == path {
			out = append(out, s)
		}
	}
	return out
}

// env is a sandbox on loopback behind a recorder.
type env struct {
	sb  *sandbox.Server
	ts  *httptest.Server
	rec *recorder
}

func newEnv(t *testing.T, opts sandbox.Options) *env {
	t.Helper()
	if opts.ClientID == "" {
		opts.ClientID, opts.ClientSecret = testID, testSecret
	}
	sb := sandbox.New(opts)
	rec := &recorder{next: sb}
	ts := httptest.NewServer(rec)
	t.Cleanup(ts.Close)
	return &env{sb: sb, ts: ts, rec: rec}
}

func (e *env) config() caspio.Config {
	return caspio.Config{IntegrationURL: e.ts.URL, ClientID: testID, ClientSecret: caspio.NewSecret(testSecret)}
}

// client makes a client of the sandbox on its clock; opts.Now is set unless given.
func (e *env) client(t *testing.T, opts client.Options) *client.Client {
	t.Helper()
	return e.clientWith(t, e.config(), opts)
}

func (e *env) clientWith(t *testing.T, cfg caspio.Config, opts client.Options) *client.Client {
	t.Helper()
	if opts.Now == nil {
		opts.Now = e.sb.Now
	}
	c, err := client.New(cfg, opts)
	require.NoError(t, err)
	return c
}

func (e *env) fault(t *testing.T, f sandbox.Fault) {
	t.Helper()
	require.NoError(t, e.sb.InjectFault(f))
}

// grants returns the token requests the sandbox counted, by grant type.
func (e *env) grants() (clientCredentials, refresh int) {
	st := e.sb.Stats()
	return st.TokenRequests["client_credentials"], st.TokenRequests["refresh_token"]
}

// events collects Events safely across goroutines.
type events struct {
	mu  sync.Mutex
	all []client.Event
}

func (l *events) add(e client.Event) {
	l.mu.Lock()
	l.all = append(l.all, e)
	l.mu.Unlock()
}

func (l *events) list() []client.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]client.Event(nil), l.all...)
}

func (l *events) kinds() []string {
	var out []string
	for _, e := range l.list() {
		out = append(out, e.Kind)
	}
	return out
}

func (l *events) of(kind string) []client.Event {
	var out []client.Event
	for _, e := range l.list() {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// otherOrigin is a server on another port that records what reaches it.
func otherOrigin(t *testing.T) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"elsewhere":true}`))
	})}
	ts := httptest.NewServer(rec)
	t.Cleanup(ts.Close)
	return ts, rec
}

func ptr[T any](v T) *T { return &v }

// basic is the Basic Authorization value of the test credentials.
func (e *env) basic() string {
	req, _ := http.NewRequest("GET", "http://x", nil)
	req.SetBasicAuth(testID, testSecret)
	return req.Header.Get("Authorization")
}
