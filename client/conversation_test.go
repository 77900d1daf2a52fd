package client_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/internal/reliability"
)

// The conversation vectors of tests/vectors/conversations, replayed through the public API
// (Token, Authenticate, Refresh, Do) against a scripted world: one HTTPS server on loopback
// that every host name reaches (so that the vectors' URLs and stored states stay as they
// are), a store, and a clock. The script's order is kept: each request, store call and
// clock reading waits for its entry's turn, and a call starts only once the steps that the
// calls before it were asking for are under way. The format is in the folder's README.md.

const vectorDir = "../tests/vectors/conversations"

type vectorCase struct {
	Name     string
	CoreOnly bool `json:"core_only"`
	Config   struct {
		Account, IntegrationURL, TokenURL, ResourceURL, APIVersion, Credentials string
		ClientID                                                                string `json:"clientId"`
		ClientSecret                                                            string `json:"clientSecret"`
		RefreshMarginMS                                                         int64  `json:"refreshMarginMs"`
	}
	Options struct {
		Lock           bool
		Hold           string
		TokenTimeoutMS int64 `json:"token_timeout_ms"`
	}
	Script  []vectorEntry
	Outcome struct {
		Calls map[string]struct {
			Call, Result string
			Status       int
		}
		TokenRequests    map[string]int `json:"token_requests"`
		ResourceRequests int            `json:"resource_requests"`
	}
}

type vectorEntry struct {
	Start   string
	Call    string
	Request struct {
		Method, Ref, Redirect string
		OneShot               bool `json:"one_shot"`
		NoRetry               bool `json:"no_retry"`
	}
	Now    int64
	Feed   string
	Result struct {
		Kind     string
		Now      int64
		Response *struct {
			Status          int
			ContentType     string  `json:"content_type"`
			BodyText        *string `json:"body_text"`
			RetryAfter      string  `json:"retry_after"`
			Location, Error string
		}
		StoredText *string `json:"stored_text"`
		Error      string
	}
	Changed bool
	Close   string
	Expect  map[string]any
}

// replayCallHeader names the call a resource request belongs to, for the world's answers.
const replayCallHeader = "X-Replay-Call"

func loadVectorCases(t *testing.T) map[string][]vectorCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(vectorDir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	out := map[string][]vectorCase{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		var f struct{ Cases []vectorCase }
		require.NoError(t, json.Unmarshal(data, &f), file)
		out[filepath.Base(file)] = f.Cases
	}
	return out
}

// TestConversationVectorsThroughTheClient replays every case that is not core_only and
// checks its outcome: each call recovered (with the status, for a fetch) or failed with the
// error kind, the token requests by grant, and the resource requests.
func TestConversationVectorsThroughTheClient(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	report := map[string]reliability.Case{}
	t.Run("cases", func(t *testing.T) {
		for file, cases := range loadVectorCases(t) {
			for _, vc := range cases {
				if vc.CoreOnly {
					// A driver's misuse, a store's change notice, a conversation resumed from
					// the hot path: nothing the public API can do or be asked to do.
					t.Logf("skipped, core_only: %s#%s", file, vc.Name)
					continue
				}
				t.Run(strings.TrimSuffix(file, ".json")+"/"+vc.Name, func(t *testing.T) {
					t.Parallel()
					got := replay(t, vc)
					mu.Lock()
					report[file+"#"+vc.Name] = got
					mu.Unlock()
				})
			}
		}
	})
	require.NoError(t, reliability.Write("go-client", report))
}

// world is the scripted token endpoint, resource endpoint, store and clock of one case.
type world struct {
	t      *testing.T
	script []vectorEntry

	mu       sync.Mutex
	changed  *sync.Cond
	cursor   int              // the entry whose turn it is
	claimed  map[int]bool     // entries whose I/O has begun
	next     map[string][]int // by class ("token", "read", "lock", "write", "unlock", "send:<call>"), the entries not yet claimed
	clock    time.Time
	stuck    bool // the client did not do what the script says: answer at once from now on
	grants   map[string]int
	requests int
}

func newWorld(t *testing.T, script []vectorEntry) *world {
	w := &world{t: t, script: script, claimed: map[int]bool{}, next: map[string][]int{}, grants: map[string]int{}}
	w.changed = sync.NewCond(&w.mu)
	w.clock = time.UnixMilli(script[0].Now)
	for i, e := range script {
		if class := w.class(e); class != "" {
			w.next[class] = append(w.next[class], i)
		}
	}
	return w
}

// class names the I/O that an entry answers; "" for one the runner plays itself.
func (w *world) class(e vectorEntry) string {
	if e.Feed == "" {
		return ""
	}
	switch k := e.Result.Kind; k {
	case caspio.StepTokenRequest:
		return "token"
	case caspio.StepRead, caspio.StepLock, caspio.StepWrite, caspio.StepUnlock:
		return k
	case caspio.StepSend:
		return "send:" + e.Feed
	}
	return "" // join and wait: the client waits on its own
}

func (w *world) now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.clock
}

// turn claims the next entry of class and waits until it is that entry's turn; it returns
// the entry, or false when the script has none left (or the replay is stuck).
func (w *world) turn(class string) (int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.next[class]) == 0 {
		w.t.Errorf("the client made a %s step the script does not have", class)
		w.stuck = true
		w.changed.Broadcast()
		return 0, false
	}
	i := w.next[class][0]
	w.next[class] = w.next[class][1:]
	w.claimed[i] = true
	w.changed.Broadcast()
	for w.cursor != i && !w.stuck {
		w.changed.Wait()
	}
	if w.stuck {
		return 0, false
	}
	w.clock = time.UnixMilli(w.script[i].Result.Now)
	return i, true
}

// done ends the turn of entry i.
func (w *world) done(i int) {
	w.mu.Lock()
	w.cursor = i + 1
	w.changed.Broadcast()
	w.mu.Unlock()
}

// play runs the script's own entries (starts, joins, waits) in turn, starting each call
// with call, and waits until the calls end.
func (w *world) play(call func(id string, e vectorEntry) func()) {
	ended := map[string]int{} // call -> the entry after which it has ended
	asked := map[int]int{}    // I/O entry -> the entry after which its step was asked for
	last := map[string]int{}
	for i, e := range w.script {
		id := e.Start + e.Feed
		if prev, ok := last[id]; ok && w.class(e) != "" {
			asked[i] = prev
		}
		last[id] = i
		if k, _ := e.Expect["kind"].(string); k == caspio.StepDone || k == caspio.StepFail {
			ended[id] = i
		}
	}
	finished := map[string]chan struct{}{}
	deadline := time.Now().Add(20 * time.Second)
	w.mu.Lock()
	for w.cursor < len(w.script) && !w.stuck {
		i, e := w.cursor, w.script[w.cursor]
		switch {
		case e.Start != "":
			w.mu.Unlock()
			for id, end := range ended {
				if ch := finished[id]; ch != nil && end < i {
					w.await(ch, deadline, "call "+id+" to end")
				}
			}
			w.mu.Lock()
			// The steps asked for before this call starts are under way first.
			for j, k := range asked {
				for j > i && k < i && !w.claimed[j] && !w.stuck && time.Now().Before(deadline) {
					w.waitChange(deadline)
				}
			}
			w.clock = time.UnixMilli(e.Now)
			ch := make(chan struct{})
			finished[e.Start] = ch
			run := call(e.Start, e)
			go func() {
				defer close(ch)
				run()
			}()
			w.cursor++
			w.changed.Broadcast()
		case w.class(e) == "" && e.Feed != "":
			w.clock = time.UnixMilli(e.Result.Now)
			w.cursor++
			w.changed.Broadcast()
		case w.class(e) == "":
			w.cursor++ // changed, close: in core_only cases only
		default:
			if time.Now().After(deadline) {
				w.t.Errorf("script entry %d (%s of %s) did not happen", i, e.Result.Kind, e.Feed)
				w.stuck = true
				w.changed.Broadcast()
				break
			}
			w.waitChange(deadline)
		}
	}
	w.mu.Unlock()
	for id, ch := range finished {
		w.await(ch, deadline.Add(10*time.Second), "call "+id+" to end")
	}
}

// waitChange waits, with w.mu held, for a change or about a tenth of a second.
func (w *world) waitChange(deadline time.Time) {
	timer := time.AfterFunc(100*time.Millisecond, func() {
		w.mu.Lock()
		w.changed.Broadcast()
		w.mu.Unlock()
	})
	w.changed.Wait()
	timer.Stop()
	_ = deadline
}

func (w *world) await(ch chan struct{}, deadline time.Time, what string) {
	select {
	case <-ch:
	case <-time.After(time.Until(deadline)):
		w.t.Errorf("waited in vain for %s", what)
		w.mu.Lock()
		w.stuck = true
		w.changed.Broadcast()
		w.mu.Unlock()
	}
}

// ServeHTTP answers the token endpoint and every resource request (any host) as the script
// says; a status 0 drops the connection.
func (w *world) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	class := "send:" + r.Header.Get(replayCallHeader)
	if r.Host == "c1abc123.caspio.com" && r.URL.Path == "/oauth/token" {
		class = "token"
		form, _ := url.ParseQuery(string(body))
		w.mu.Lock()
		w.grants[form.Get("grant_type")]++
		w.mu.Unlock()
	} else {
		w.mu.Lock()
		w.requests++
		w.mu.Unlock()
	}
	i, ok := w.turn(class)
	if !ok {
		http.Error(rw, "not in the script", http.StatusTeapot)
		return
	}
	defer w.done(i)
	resp := w.script[i].Result.Response
	if resp == nil || resp.Status == 0 {
		if hj, ok := rw.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	h := rw.Header()
	for name, value := range map[string]string{"Content-Type": resp.ContentType, "Retry-After": resp.RetryAfter, "Location": resp.Location} {
		if value != "" {
			h.Set(name, value)
		}
	}
	rw.WriteHeader(resp.Status)
	if resp.BodyText != nil {
		_, _ = io.WriteString(rw, *resp.BodyText)
	}
}

// store answers the store's calls as the script says; with lock it is a client.Locker.
type store struct {
	w *world
}

type lockingStore struct{ store }

func (s store) Load(context.Context) ([]byte, error) {
	i, ok := s.w.turn(caspio.StepRead)
	if !ok {
		return nil, errors.New("not in the script")
	}
	defer s.w.done(i)
	r := s.w.script[i].Result
	switch {
	case r.Error != "":
		return nil, errors.New(r.Error)
	case r.StoredText == nil:
		return nil, nil
	}
	return []byte(*r.StoredText), nil
}

func (s store) Save(ctx context.Context, state []byte) error {
	return s.SaveUntil(ctx, state, time.Time{}, 0)
}

// SaveUntil makes the store an ExpiringStore, so that the write step's expiry is checked.
func (s store) SaveUntil(_ context.Context, state []byte, until time.Time, ttl time.Duration) error {
	i, ok := s.w.turn(caspio.StepWrite)
	if !ok {
		return errors.New("not in the script")
	}
	defer s.w.done(i)
	e := s.w.script[i]
	// The expiry the write step asked for reaches the store.
	if at, ok := s.w.expectOf(i)["expires_at"].(float64); ok {
		want := time.Time{}
		if at != 0 {
			want = time.UnixMilli(int64(at))
		}
		assert.True(s.w.t, want.Equal(until), "entry %d: the store got the expiry %v, not %v", i, until, want)
	}
	if ms, ok := s.w.expectOf(i)["ttl_ms"].(float64); ok {
		assert.Equal(s.w.t, time.Duration(ms)*time.Millisecond, ttl, "entry %d: the store's TTL", i)
	}
	if e.Result.Error != "" {
		return errors.New(e.Result.Error)
	}
	return nil
}

// expectOf is the expected write step of write entry i: the expect of the entry before it
// of the same call, which asked for the write.
func (w *world) expectOf(i int) map[string]any {
	for j := i - 1; j >= 0; j-- {
		if e := w.script[j]; e.Start+e.Feed == w.script[i].Feed {
			if k, _ := e.Expect["kind"].(string); k == caspio.StepWrite {
				return e.Expect
			}
			return nil
		}
	}
	return nil
}

func (s lockingStore) Lock(context.Context) (func() error, error) {
	i, ok := s.w.turn(caspio.StepLock)
	if !ok {
		return nil, errors.New("not in the script")
	}
	defer s.w.done(i)
	if msg := s.w.script[i].Result.Error; msg != "" {
		return nil, errors.New(msg)
	}
	return func() error {
		i, ok := s.w.turn(caspio.StepUnlock)
		if !ok {
			return errors.New("not in the script")
		}
		defer s.w.done(i)
		if msg := s.w.script[i].Result.Error; msg != "" {
			return errors.New(msg)
		}
		return nil
	}, nil
}

// replay plays one case through a new client and checks its outcome.
func replay(t *testing.T, vc vectorCase) reliability.Case {
	w := newWorld(t, vc.Script)
	srv := httptest.NewTLSServer(w)
	t.Cleanup(srv.Close)
	roots := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	transport := &http.Transport{
		// Every host is this server, whose certificate is for example.com.
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
		},
		TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: "example.com"},
		DisableKeepAlives: true, // a dropped connection is never retried on a fresh one
	}
	t.Cleanup(transport.CloseIdleConnections)
	hc := &http.Client{Transport: transport}
	for _, e := range vc.Script {
		switch e.Request.Redirect {
		case caspio.ManualRedirects:
			hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		case caspio.RefuseRedirects:
			hc.CheckRedirect = func(*http.Request, []*http.Request) error { return errors.New("redirects refused") }
		}
	}
	var st client.Store = store{w}
	if vc.Options.Lock {
		st = lockingStore{store{w}}
	}
	cfg := vc.Config
	c, err := client.New(caspio.Config{
		Account: cfg.Account, IntegrationURL: cfg.IntegrationURL, TokenURL: cfg.TokenURL, ResourceURL: cfg.ResourceURL,
		APIVersion: cfg.APIVersion, ClientID: cfg.ClientID, ClientSecret: caspio.NewSecret(cfg.ClientSecret),
		Credentials: cfg.Credentials, RefreshMargin: caspio.Millis(cfg.RefreshMarginMS),
	}, client.Options{
		HTTPClient: hc, Store: st, Now: w.now, Hold: vc.Options.Hold,
		TokenTimeout: time.Duration(vc.Options.TokenTimeoutMS) * time.Millisecond,
	})
	require.NoError(t, err)

	type result struct {
		err    error
		status int
	}
	var mu sync.Mutex
	results := map[string]result{}
	var order []string
	calls := map[string]string{}
	w.play(func(id string, e vectorEntry) func() {
		order, calls[id] = append(order, id), e.Call
		return func() {
			var r result
			ctx := context.Background()
			switch e.Call {
			case "token":
				_, r.err = c.Token(ctx)
			case "authenticate":
				_, r.err = c.Authenticate(ctx)
			case "refresh":
				_, r.err = c.Refresh(ctx)
			case "fetch":
				r.status, r.err = fetch(ctx, c, id, e)
			default:
				r.err = errors.New("unknown call " + e.Call)
			}
			mu.Lock()
			results[id] = r
			mu.Unlock()
		}
	})

	mu.Lock()
	defer mu.Unlock()
	var outcomes []string
	for _, id := range order {
		r := results[id]
		got := "recovered"
		if r.err != nil {
			got = errorKind(r.err)
			if got == "" {
				got = "TypeError" // the vectors' name for the platform's error: no answer came
			}
			assert.NotContains(t, r.err.Error(), "SECRET", "call %s: an error message shows a secret", id)
		}
		want := vc.Outcome.Calls[id]
		assert.Equal(t, want.Result, got, "call %s (%s): %v", id, calls[id], r.err)
		if calls[id] == "fetch" && r.err == nil {
			assert.Equal(t, want.Status, r.status, "call %s: the status handed back", id)
		}
		outcomes = append(outcomes, got)
	}
	w.mu.Lock()
	grants := map[string]int{"client_credentials": w.grants["client_credentials"], "refresh_token": w.grants["refresh_token"]}
	requests := w.requests
	w.mu.Unlock()
	want := map[string]int{"client_credentials": 0, "refresh_token": 0}
	for g, n := range vc.Outcome.TokenRequests {
		want[g] = n
	}
	assert.Equal(t, want, grants, "token requests by grant")
	assert.Equal(t, vc.Outcome.ResourceRequests, requests, "resource requests")
	return reliability.Case{Outcome: strings.Join(outcomes, ", "), TokenRequests: grants, ResourceRequests: requests}
}

// fetch is the fetch call id: Do of the request's ref, with a body that can be sent again,
// or a stream when one_shot.
func fetch(ctx context.Context, c *client.Client, id string, e vectorEntry) (int, error) {
	method := e.Request.Method
	if method == "" {
		method = "GET"
	}
	var body io.Reader
	if method != "GET" && method != "HEAD" {
		body = strings.NewReader(`{"Name":"x"}`)
		if e.Request.OneShot {
			body = io.MultiReader(body) // no GetBody
		}
	}
	var req *http.Request
	var err error
	if strings.Contains(e.Request.Ref, "://") {
		req, err = http.NewRequestWithContext(ctx, method, e.Request.Ref, body) // Do resolves it
	} else {
		req, err = c.NewRequest(ctx, method, e.Request.Ref, body)
	}
	if err != nil {
		return 0, err
	}
	req.Header.Set(replayCallHeader, id)
	if e.Request.NoRetry {
		req = req.WithContext(client.WithoutRetry(req.Context()))
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// errorKind is the kind of the first error in err's tree that has one, "" for none.
func errorKind(err error) string {
	var k interface{ Kind() string }
	if errors.As(err, &k) {
		return k.Kind()
	}
	return ""
}
