package client

import (
	"time"
)

// Kinds of Event. The names are those of the JS package's events, so that logs and metrics
// read the same whichever runtime wrote them.
const (
	EventTokenRequest   = "token_request"   // a token request is about to be sent (Grant, Attempt)
	EventLogin          = "login"           // a client_credentials grant succeeded (ExpiresAt)
	EventRefresh        = "refresh"         // a refresh_token grant succeeded (ExpiresAt)
	EventTokenError     = "token_error"     // a token request failed (Status, Err)
	EventRetry          = "retry"           // the failed request will be retried after Wait
	EventRevoked        = "revoked"         // a 401 on a resource request dropped the access token
	EventStateDiscarded = "state_discarded" // stored state could not be read and was ignored (Err is a *caspio.StateError)
	EventStoreError     = "storage_error"   // the Store or its lock failed; the token is kept in memory (Err)
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
