package client

import (
	"time"

	"github.com/caspio-auth/caspio"
)

// Kinds of Event: the core's, so that logs and metrics read the same whichever runtime (Go,
// Node, a browser, a Worker) wrote them.
const (
	EventTokenRequest   = caspio.EventTokenRequest   // a token request is about to be sent (Grant, Attempt)
	EventLogin          = caspio.EventLogin          // a client_credentials grant succeeded (ExpiresAt)
	EventRefresh        = caspio.EventRefresh        // a refresh_token grant succeeded (ExpiresAt)
	EventTokenError     = caspio.EventTokenError     // a token request failed (Status, Err)
	EventRetry          = caspio.EventRetry          // the failed request will be retried after Wait
	EventRevoked        = caspio.EventRevoked        // a 401 on a resource request refused an access token
	EventResourceRetry  = caspio.EventResourceRetry  // a resource request is sent again after Wait (Attempt, Status, Err)
	EventStateDiscarded = caspio.EventStateDiscarded // stored state could not be read and was ignored (Err is a *caspio.StateError)
	EventStoreError     = caspio.EventStoreError     // "storage_error": the Store or its lock failed; the token is kept in memory (Err)
)

// Event reports what the client did with its tokens, for logs and metrics. It never holds a
// secret: no credential, access token or refresh token is in any field or in Err's message.
type Event struct {
	Kind      string        // one of the Event* constants
	Grant     string        // "client_credentials" or "refresh_token", for token events
	Attempt   int           // the attempt within this acquisition, from 1
	Status    int           // the HTTP status of the token response; 0 when none arrived
	ExpiresAt time.Time     // the new access token's expiry, for login and refresh
	Wait      time.Duration // how long until the retry, for retry
	Err       error         // why, for token_error, retry, state_discarded and storage_error
}

// report hands the events of a step to the OnEvent observer, in order.
func (c *Client) report(events []caspio.Event) {
	if c.onEvent == nil {
		return
	}
	for _, e := range events {
		c.onEvent(Event{
			Kind:      e.Kind,
			Grant:     e.Grant,
			Attempt:   e.Attempt,
			Status:    e.Status,
			ExpiresAt: instant(e.ExpiresAt),
			Wait:      millis(e.Wait),
			Err:       e.Err,
		})
	}
}
