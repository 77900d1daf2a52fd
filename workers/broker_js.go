//go:build js && wasm

package workers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/syumai/workers/cloudflare"
)

// brokerStore is a client.Store and client.Locker over the fetch interface of the
// TokenBroker Durable Object called name in the namespace bound as binding.
type brokerStore struct {
	binding, name string
	ns            *cloudflare.DurableObjectNamespace
}

func newBrokerStore(binding, name string) (s client.Store, err error) {
	defer func() {
		// syumai/workers panics when there is no runtime context (not in a Worker).
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("%w: no Workers runtime context (%v)", ErrNotInWorker, p)
		}
	}()
	ns, err := cloudflare.NewDurableObjectNamespace(binding)
	if err != nil {
		return nil, fmt.Errorf("%w: caspio workers: Durable Object binding %s is not bound to this Worker; add it to durable_objects in wrangler.jsonc, with class_name TokenBroker (and script_name the Worker exporting it)", ErrNotBound, binding)
	}
	return &brokerStore{binding: binding, name: name, ns: ns}, nil
}

// brokerOrigin is the URL the broker's requests are addressed to: a Durable Object's fetch
// reads only the path.
const brokerOrigin = "https://caspio-token-broker.internal"

// brokerCallLimit bounds a broker call other than a lock's wait.
const brokerCallLimit = 10 * time.Second

// call sends one request to the broker and returns its status and body (at most 1 MiB).
func (s *brokerStore) call(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	type result struct {
		status int
		body   []byte
	}
	r, err := await(ctx, func() (result, error) {
		stub, err := s.ns.Get(s.ns.IdFromName(s.name))
		if err != nil {
			return result{}, err
		}
		req, err := http.NewRequest(method, brokerOrigin+path, nil)
		if err != nil {
			return result{}, err
		}
		if body != nil {
			req.Body = io.NopCloser(bytes.NewReader(body))
			req.ContentLength = int64(len(body))
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := stub.Fetch(req)
		if err != nil {
			return result{}, err
		}
		defer resp.Body.Close()
		// A 204's body is JavaScript null, which syumai/workers' reader cannot read.
		if raw, ok := resp.Body.(rawJSBody); resp.StatusCode == http.StatusNoContent ||
			(ok && (raw.GetRawJSBody().IsNull() || raw.GetRawJSBody().IsUndefined())) {
			return result{resp.StatusCode, nil}, nil
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxStateFile+1))
		if err != nil {
			return result{}, err
		}
		return result{resp.StatusCode, data}, nil
	})
	if err != nil {
		return 0, nil, err
	}
	return r.status, r.body, nil
}

// maxStateFile bounds what a broker answer may hold: a token state is a few hundred bytes.
const maxStateFile = 1 << 20

// brokerError describes a broker answer that is not the expected one by its error code,
// never its body (which could hold a state).
func brokerError(status int, body []byte) error {
	var e struct {
		Error string `json:"error"`
	}
	code := "unexpected answer"
	if json.Unmarshal(body, &e) == nil && e.Error != "" && len(e.Error) < 40 && !strings.ContainsAny(e.Error, " \n") {
		code = e.Error
	}
	return fmt.Errorf("TokenBroker answered %d (%s)", status, code)
}

func (s *brokerStore) Load(ctx context.Context) ([]byte, error) {
	status, body, err := s.call(ctx, http.MethodGet, "/state", nil)
	switch {
	case err != nil:
	case status == http.StatusNoContent:
		return nil, nil
	case status == http.StatusOK && len(body) > 0 && len(body) <= maxStateFile:
		return body, nil
	default:
		err = brokerError(status, body)
	}
	return nil, fmt.Errorf("caspio workers: read the token state from %s: %w", s, err)
}

func (s *brokerStore) Save(ctx context.Context, state []byte) error {
	status, body, err := s.call(ctx, http.MethodPut, "/state", state)
	if err == nil && status != http.StatusNoContent {
		err = brokerError(status, body)
	}
	if err != nil {
		return fmt.Errorf("caspio workers: write the token state to %s: %w", s, err)
	}
	return nil
}

// Lock takes the broker's lock, waiting until ctx ends (at most maxBrokerWait): the broker
// is told how long to wait, so that it gives up when the caller does. If ctx ends while a
// request for the lock is under way, a lock granted after all is released at once. The
// lock is held for the core's lock TTL (caspio.StoreLock) and extended by a goroutine of
// this request's every StoreLock().Extend until it is released: a request that ends while
// holding it (its caller went away) stops extending it, and the others wait at most a TTL.
func (s *brokerStore) Lock(ctx context.Context) (func() error, error) {
	policy := caspio.StoreLock()
	lease := time.Duration(policy.TTL) * time.Millisecond
	wait := maxBrokerWait
	if deadline, ok := ctx.Deadline(); ok {
		if d := time.Until(deadline); d < wait {
			wait = d
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if wait < time.Millisecond {
		return nil, context.DeadlineExceeded
	}
	req, _ := json.Marshal(map[string]int64{
		"leaseMs": lease.Milliseconds(),
		"waitMs":  wait.Milliseconds(),
	})
	type answer struct {
		status int
		body   []byte
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		// Not bound to ctx: a lock granted after ctx ended must still be seen, to release it.
		lctx, cancel := context.WithTimeout(context.Background(), wait+brokerCallLimit)
		defer cancel()
		status, body, err := s.call(lctx, http.MethodPost, "/lock", req)
		done <- answer{status, body, err}
	}()
	var a answer
	select {
	case a = <-done:
	case <-ctx.Done():
		go func() {
			if a := <-done; a.err == nil && a.status == http.StatusOK {
				if id, ok := lockID(a.body); ok {
					_ = s.unlock(id)
				}
			}
		}()
		return nil, ctx.Err()
	}
	if a.err != nil {
		return nil, fmt.Errorf("caspio workers: lock the token state in %s: %w", s, a.err)
	}
	if a.status != http.StatusOK {
		return nil, fmt.Errorf("caspio workers: lock the token state in %s: %w", s, brokerError(a.status, a.body))
	}
	id, ok := lockID(a.body)
	if !ok {
		return nil, fmt.Errorf("caspio workers: lock the token state in %s: the TokenBroker's answer holds no lock ID", s)
	}
	stop := client.KeepLock(policy, func() { s.extend(id, lease) })
	return func() error {
		stop()
		return s.unlock(id)
	}, nil
}

// extend asks the broker to honour lock id for lease from now. A failure needs no answer:
// the lock then lapses after its TTL, and the core re-checks every state it reads.
func (s *brokerStore) extend(id string, lease time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), brokerCallLimit)
	defer cancel()
	req, _ := json.Marshal(map[string]any{"id": id, "leaseMs": lease.Milliseconds()})
	_, _, _ = s.call(ctx, http.MethodPost, "/extend", req)
}

func lockID(body []byte) (string, bool) {
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &v) != nil || v.ID == "" {
		return "", false
	}
	return v.ID, true
}

// unlock releases the lock id; a lease that ran out already is no error.
func (s *brokerStore) unlock(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), brokerCallLimit)
	defer cancel()
	req, _ := json.Marshal(map[string]string{"id": id})
	status, body, err := s.call(ctx, http.MethodPost, "/unlock", req)
	if err == nil && status != http.StatusOK {
		err = brokerError(status, body)
	}
	if err != nil {
		return fmt.Errorf("caspio workers: unlock the token state in %s: %w", s, err)
	}
	return nil
}

// String names the binding and the broker, never the state.
func (s *brokerStore) String() string { return s.binding + " TokenBroker " + s.name }
