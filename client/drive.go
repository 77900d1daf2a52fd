package client

import (
	"context"
	"math/rand/v2"

	"github.com/caspio-auth/caspio"
)

// The driver loop: ask the conversation for a step, perform it, feed back what happened,
// until a done or fail step (see the core's package documentation). Every decision is the
// machine's; this file only chooses who waits for what.

// run performs the steps of conv from step until the conversation ends, and returns its
// last step. x performs the send steps of a resource request (nil for an acquisition).
//
// ctx bounds the caller's wait. When it ends, a conversation that was waiting for another
// caller's acquisition is closed; one that runs an acquisition hands it to a goroutine that
// runs it to its landing, since other callers may wait for it, and then closes it.
func (c *Client) run(ctx context.Context, conv *caspio.Conversation, step caspio.Step, x *exchange) (caspio.Step, error) {
	for {
		c.observe(step)
		var err error
		switch {
		case step.Kind == caspio.StepDone || step.Kind == caspio.StepFail:
			return step, nil
		case step.Kind == caspio.StepJoin:
			step, err = c.join(ctx, conv)
		case step.Kind == caspio.StepSend && x != nil:
			var r caspio.Result
			if r, err = x.send(step); err == nil {
				step = conv.Next(r)
			} else {
				conv.Close()
			}
		case inFlight(step):
			step, err = c.fly(ctx, conv, step)
		case step.Kind == caspio.StepWait:
			// A resource request to send again after a failure that may pass.
			if err = sleep(ctx, millis(step.Wait)); err != nil {
				conv.Close()
			} else {
				step = conv.Next(caspio.Result{Kind: caspio.StepWait, Now: c.nowMillis()})
			}
		default:
			// No step of another kind is asked for; should one be, the conversation ends here.
			return conv.Close(), nil
		}
		if err != nil {
			return step, err
		}
	}
}

// observe does what a step asks of the driver whatever its kind: wake the callers waiting
// for the acquisition that landed, report the events, drop the lease when a revoked event
// says a 401 refused a token (as every driver does: concurrent requests then wait for the
// new token instead of sending the refused one), and keep the lease of an ended
// conversation (dropping the one held when there is none).
func (c *Client) observe(step caspio.Step) {
	if step.Landed != 0 {
		c.mu.Lock()
		close(c.landed)
		c.landed = make(chan struct{})
		c.mu.Unlock()
	}
	c.report(step.Events)
	for _, e := range step.Events {
		if e.Kind == caspio.EventRevoked {
			c.lease.Store(nil)
		}
	}
	if step.Kind == caspio.StepDone || step.Kind == caspio.StepFail {
		if step.Lease.Authorization.IsZero() {
			c.lease.Store(nil)
		} else {
			c.lease.Store(newLease(step.Lease, step.Status))
		}
	}
}

// join waits until the acquisition conv joined has landed, and returns the step after it.
// The landing signal is taken before the machine is asked, so that a landing in between is
// not missed.
func (c *Client) join(ctx context.Context, conv *caspio.Conversation) (caspio.Step, error) {
	for {
		c.mu.Lock()
		landed := c.landed
		c.mu.Unlock()
		step := conv.Next(caspio.Result{Kind: caspio.StepJoin, Now: c.nowMillis()})
		if step.Kind != caspio.StepJoin {
			return step, nil
		}
		select {
		case <-landed:
		case <-ctx.Done():
			conv.Close()
			return step, ctx.Err()
		}
	}
}

// inFlight reports whether step is one of the acquisition that its conversation runs.
func inFlight(step caspio.Step) bool {
	switch step.Kind {
	case caspio.StepLock, caspio.StepRead, caspio.StepWrite, caspio.StepUnlock, caspio.StepTokenRequest, caspio.StepWait:
		return step.Flight != 0
	}
	return false
}

// fly performs the steps of the acquisition conv runs, from step until it lands, and
// returns the step after the landing. Callers may wait for it whose contexts have not
// ended: it runs detached from ctx, and when ctx ends first, fly returns ctx's error and a
// goroutine lets the acquisition land.
func (c *Client) fly(ctx context.Context, conv *caspio.Conversation, step caspio.Step) (caspio.Step, error) {
	detached := context.WithoutCancel(ctx)
	if ctx.Done() == nil {
		return c.flight(detached, conv, step), nil // nothing can end the wait
	}
	landed := make(chan caspio.Step, 1)
	go func() { landed <- c.flight(detached, conv, step) }()
	select {
	case next := <-landed:
		return next, nil
	case <-ctx.Done():
		go func() {
			next := <-landed
			c.observe(next)
			if next.Kind != caspio.StepDone && next.Kind != caspio.StepFail {
				conv.Close() // its caller is gone
			}
		}()
		return step, ctx.Err()
	}
}

// flight performs the acquisition's steps (step has been observed) and returns the first
// step that is not one of them, unobserved.
func (c *Client) flight(ctx context.Context, conv *caspio.Conversation, step caspio.Step) caspio.Step {
	var unlock func() error // the store's lock, while it is held
	for {
		r := caspio.Result{Kind: step.Kind}
		switch step.Kind {
		case caspio.StepLock:
			unlock, r.Err = c.lockStore(ctx, millis(step.Timeout))
		case caspio.StepRead:
			r.Stored, r.Err = c.readStore(ctx, millis(step.Timeout))
		case caspio.StepWrite:
			r.Err = c.writeStore(ctx, step)
		case caspio.StepUnlock:
			if unlock != nil {
				r.Err = unlockStore(unlock, millis(step.Timeout))
				unlock = nil
			}
		case caspio.StepTokenRequest:
			r.Response = c.requestToken(ctx, step)
			r.Jitter = rand.Float64()
		case caspio.StepWait:
			_ = sleep(ctx, millis(step.Wait)) // ctx is detached: the wait runs its course
		}
		r.Now = c.nowMillis()
		step = conv.Next(r)
		if !inFlight(step) {
			if unlock != nil { // the machine ended the flight without an unlock step
				_ = unlockStore(unlock, c.tokenTimeout)
			}
			return step
		}
		c.observe(step)
	}
}
