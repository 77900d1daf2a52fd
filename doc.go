// Package caspio is the protocol core of caspio-auth: OAuth 2.0 client authentication for
// the Caspio REST API as a pure state machine.
//
// The core performs no I/O. It never reads a clock, starts no goroutine or timer and decodes
// no JSON: a host (a driver) passes the current time in, performs the HTTP requests the core
// describes and hands back the decoded responses. Every runtime of caspio-auth (native Go,
// WebAssembly in Node, browsers and Cloudflare Workers) drives this one package, so every
// runtime makes the same decisions. Most Go programs want the native driver instead, package
// github.com/caspio-auth/caspio/client, which adds net/http, token stores and single-flight.
//
// A driver's loop, in outline:
//
//	flow, err := caspio.NewFlow(cfg)        // checks the Config once
//	d := flow.Decide(state, now)            // UseLease, Refresh or Authenticate
//	req := flow.TokenRequest(d.Action, state)
//	// ... the host performs req and decodes the JSON body ...
//	res := flow.HandleTokenResponse(d.Action, state, resp, now, attempt, jitter)
//	state = res.State                       // store it, then Decide again
//
// The nouns are few: Config (what the user configures) and Flow (a checked Config), State
// (the tokens and counters a host persists, see State.Encode), Request (a token request to
// perform), Decision and Lease (what to do now), and the error types.
//
// Times are UnixMilli (milliseconds since the Unix epoch, as JavaScript's Date.now() gives
// them) and spans are Millis, so that the core links neither package time nor fmt and stays
// small in WebAssembly.
package caspio
