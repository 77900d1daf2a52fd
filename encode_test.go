package caspio_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
)

// TestAppendJSONIsEncode: the JSON text that the WebAssembly build hands to JavaScript holds
// the value Encode gives (the one the conversation vectors check), for every kind of step,
// every kind of error, and strings that JSON must escape.
func TestAppendJSONIsEncode(t *testing.T) {
	odd := "q\"b\\s/\x00\x1f\t\n\r\x7f é \u2028 \xff end"
	counters := caspio.Counters{ClientCredentialsRequests: 3, RefreshRequests: 2, Logins: 1, Refreshes: 4}
	status := caspio.Status{RefreshMargin: 300000, AccessTokenExpiresAt: 1_700_000_000_000, Next: caspio.UseLease, Counters: counters, Revoked: 1, Acquiring: "token", Hold: odd}
	state := caspio.State{ClientID: "id", TokenURL: "https://x/oauth/token", AccessToken: caspio.NewSecret("at" + odd), ExpiresAt: 2, ObtainedAt: 1,
		RefreshToken: caspio.NewSecret("rt"), RefreshIssuedAt: 1, RefreshUsedAt: 3, Counters: counters}
	oauth := &caspio.OAuthError{Status: 400, Grant: caspio.GrantRefreshToken, ErrorCode: "invalid_grant", Description: odd, URI: "https://x/e"}
	errs := []error{
		&caspio.ConfigError{Field: "TokenURL", Problem: odd, Fix: "f"},
		oauth,
		&caspio.APIError{Status: 404, Code: "ObjectNotFound", Message: odd, Resource: "/r", RequestID: "r-1"},
		&caspio.ResponseError{Status: 200, Field: "expires_in", Location: "https://x/l", Problem: "p"},
		&caspio.StateError{Field: "version", Problem: odd},
		&caspio.URLError{Ref: "https://evil/" + odd, Problem: "p"},
		&caspio.TokenError{Code: caspio.KindGaveUp, Grant: caspio.GrantClientCredentials, Problem: "p", Cause: oauth},
		&caspio.TokenError{Code: caspio.KindHeld, Problem: "p"},
		&caspio.RedirectError{Status: 307, Location: "https://x/", Problem: "p"},
		&caspio.StepError{Problem: "p"},
		errors.New("a host's own: " + odd),
	}
	steps := map[string]caspio.Step{
		"token_request": {Kind: caspio.StepTokenRequest, Flight: 1, Attempt: 2, Timeout: 30000, Request: caspio.Request{
			Method: "POST", URL: "https://x/oauth/token", Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Odd": odd},
			Authorization: caspio.NewSecret("Basic aWQ6c2VjcmV0"), Body: caspio.NewSecret("grant_type=client_credentials&" + odd), Grant: caspio.GrantClientCredentials,
		}, Events: []caspio.Event{{Kind: caspio.EventTokenRequest, Grant: caspio.GrantClientCredentials, Attempt: 2}}},
		"send":   {Kind: caspio.StepSend, Request: caspio.Request{Method: "GET", URL: "https://x/rest/v2/" + odd, Authorization: caspio.NewSecret("Bearer at")}, KeepBody: true, Hops: 2},
		"lock":   {Kind: caspio.StepLock, Flight: 3, Timeout: 1000},
		"read":   {Kind: caspio.StepRead, Flight: 3},
		"write":  {Kind: caspio.StepWrite, State: state, ExpiresAt: 9, TTL: 60000, Landed: 2},
		"unlock": {Kind: caspio.StepUnlock},
		"wait":   {Kind: caspio.StepWait, Wait: 1500, Events: []caspio.Event{{Kind: caspio.EventRetry, Status: 503, Wait: 1500, Err: errs[3]}}},
		"join":   {Kind: caspio.StepJoin, Flight: 7},
		"done":   {Kind: caspio.StepDone, Lease: caspio.Lease{Authorization: caspio.NewSecret("Bearer at"), ValidUntil: 5}, Status: status, Landed: 1},
		"done without lease": {Kind: caspio.StepDone, Status: status, Events: []caspio.Event{
			{Kind: caspio.EventLogin, Grant: caspio.GrantClientCredentials, Attempt: 1, Status: 200, ExpiresAt: 8},
			{Kind: caspio.EventRevoked}, {Kind: caspio.EventStoreError, Err: errs[10]},
		}},
	}
	for i, err := range errs {
		steps[fmt.Sprintf("fail %d %T", i, err)] = caspio.Step{Kind: caspio.StepFail, Err: err, Status: status, Events: []caspio.Event{{Kind: caspio.EventTokenError, Status: i, Err: err}}}
	}
	for name, s := range steps {
		t.Run(name, func(t *testing.T) {
			assertSameJSON(t, s.Encode(), s.AppendJSON([]byte("ignored prefix "))[len("ignored prefix "):])
		})
	}
	assertSameJSON(t, status.Encode(), status.AppendJSON(nil))
	for _, err := range errs {
		assertSameJSON(t, caspio.EncodeError(err), caspio.AppendErrorJSON(nil, err))
	}
	assert.Equal(t, "null", string(caspio.AppendErrorJSON(nil, nil)))
}

func assertSameJSON(t *testing.T, encoded any, text []byte) {
	t.Helper()
	var got any
	require.NoError(t, json.Unmarshal(text, &got), "%s", text)
	assert.Equal(t, roundTrip(t, encoded), got)
}
