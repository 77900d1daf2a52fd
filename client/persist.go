package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/caspio-auth/caspio"
)

// The store's steps: lock, read, write, unlock. Their failures are fed back to the machine,
// which reports them as events and goes on with the token in memory.

// lockStore takes the Store's lock, waiting at most timeout.
func (c *Client) lockStore(ctx context.Context, timeout time.Duration) (func() error, error) {
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	unlock, err := c.locker.Lock(lctx)
	if err != nil {
		return nil, wrap("lock token state", err)
	}
	return unlock, nil
}

// unlockStore releases the Store's lock, waiting at most timeout: an unlock that has not
// returned by then fails the step (the Locker's call goes on by itself), so that a store
// that does not answer holds up the acquisition no longer than a read or a write does.
func unlockStore(unlock func() error, timeout time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- unlock() }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			return wrap("unlock token state", err)
		}
		return nil
	case <-timer.C:
		return wrap("unlock token state", errors.New("the store did not release its lock within "+timeout.String()+" (the client's TokenTimeout)"))
	}
}

// readStore returns the stored state decoded from JSON, nil when nothing is stored, waiting
// at most the read step's timeout. Text that is not JSON gives a *caspio.StateError.
func (c *Client) readStore(ctx context.Context, timeout time.Duration) (any, error) {
	sctx, cancel := context.WithTimeout(ctx, timeout)
	data, err := c.store.Load(sctx)
	cancel()
	if err != nil {
		return nil, wrap("load token state", err)
	}
	if len(data) == 0 {
		return nil, nil
	}
	return decodeState(data)
}

// decodeState decodes stored bytes. A JSON error is described by position only: the text
// around it could be part of a token.
func decodeState(data []byte) (any, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		problem := "is not valid JSON"
		var syntax *json.SyntaxError
		switch {
		case errors.As(err, &syntax) && syntax.Offset >= int64(len(bytes.TrimRight(data, " \t\r\n"))):
			problem += " (truncated)"
		case errors.As(err, &syntax):
			problem += " (syntax error at byte " + strconv.FormatInt(syntax.Offset, 10) + ")"
		}
		return nil, &caspio.StateError{Problem: problem + "; it is replaced at the next save"}
	}
	return v, nil
}

// writeStore stores the state of a write step, with its expiry where the Store expires
// entries, waiting at most the step's timeout.
func (c *Client) writeStore(ctx context.Context, step caspio.Step) error {
	data, err := json.Marshal(step.State.Encode())
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, millis(step.Timeout))
		if c.expires != nil {
			err = c.expires.SaveUntil(sctx, data, instant(step.ExpiresAt), millis(step.TTL))
		} else {
			err = c.store.Save(sctx, data)
		}
		cancel()
	}
	if err != nil {
		return wrap("save token state", err)
	}
	return nil
}
