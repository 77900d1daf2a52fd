// Package caspio is the protocol core of caspio-auth: OAuth 2.0 client authentication for
// the Caspio REST API as a pure state machine.
//
// The core performs no I/O. It never reads a clock, starts no goroutine or timer and decodes
// no JSON: a host (a driver) passes the current time in, performs the requests and storage
// operations the core asks for and hands back what happened. Every runtime of caspio-auth
// (native Go, WebAssembly in Node, browsers and Cloudflare Workers) drives this one package,
// so every runtime makes the same moves. Most Go programs want the native driver instead,
// package github.com/caspio-auth/caspio/client, which performs the steps with net/http and
// token stores.
//
// A driver keeps one Machine per client object. For each thing its caller asks, it starts a
// Conversation (Token, Authenticate, Refresh, or Fetch for a resource request) and runs the
// loop below, as an h11 driver does: ask for the next step, perform it, feed back the
// result, until a done or fail step.
//
//	settings, err := caspio.NewSettings(cfg)               // checks the Config once
//	m, err := caspio.NewMachine(settings, caspio.Options{}) // one per client object
//
//	c := m.Token(now()) // or Authenticate, Refresh, Fetch
//	for step := c.Step(); ; step = c.Next(r) {
//		wake(step.Landed)         // a flight landed: wake the conversations joined to it
//		report(step.Events)       // login, refresh, retry, revoked, storage_error...
//		r = caspio.Result{Kind: step.Kind}
//		switch step.Kind {
//		case caspio.StepTokenRequest: // POST, never following redirects, within step.Timeout
//			r.Response = post(step.Request)
//		case caspio.StepSend:         // the caller's request, to step.Request.URL, with
//			r.Response = send(step)   // step.Request.Authorization or none; no redirects
//		case caspio.StepLock:
//			r.Err = lock(step.Timeout)
//		case caspio.StepRead:         // the stored JSON, decoded; nil when nothing is stored
//			r.Stored, r.Err = read()
//		case caspio.StepWrite:        // step.State.Encode() as JSON, expiring after step.TTL
//			r.Err = write(step.State.Encode(), step.TTL)
//		case caspio.StepUnlock:
//			r.Err = unlock()
//		case caspio.StepWait:
//			sleep(step.Wait)
//		case caspio.StepJoin:         // until flight step.Flight lands (asking again early is fine)
//			waitForLanding(step.Flight)
//		case caspio.StepDone:         // keep step.Lease; a Fetch hands back its last response
//			return step
//		case caspio.StepFail:
//			return step.Err
//		}
//		r.Now, r.Jitter = now(), rand.Float64()
//	}
//
// The machine owns every rule of the conversation: when to read, lock and write the store
// and with which expiry, which stored state to adopt, when to log in or refresh, which
// failures to retry and after how long, how many token requests to make at most, which
// access tokens a 401 refused, when to send a resource request again, and where a redirect
// may take the bearer token. A driver only performs steps; an if about the protocol in a
// driver is a step the machine is missing.
//
// The hot path makes no call into the machine: every done or fail step carries the Lease
// (the Authorization value and when it stops being valid, or none), which the driver keeps
// and sends until it lapses, with the URLs it has resolved. When the answer is a 401 or a
// redirect, the driver starts a Fetch conversation with that value in
// ResourceRequest.Authorization and feeds the response it got as the result of the first
// step, which is that very send.
//
// A resource request the machine sends again after a failure that may pass (a 429, a 503
// or other 5xx, or no answer, for a method that does nothing twice: never a POST) asks for a
// wait step without a flight, then the send again; ResourceRequest.NoRetry turns that off.
//
// The rules of records calls are pure functions beside the machine (records.go): Paging
// says which request each page of a read of a table or view takes and when the read stops,
// from three facts a host reads off each answer (Page); RecordsRef gives the request of a
// write; InsertOutcome and Missing say what Caspio's answers mean. A driver sends the
// requests they name as ordinary resource requests.
//
// A step and a result can be told in plain values (Step.Encode, ParseResult), so that a
// driver in JavaScript performs the same steps through the WebAssembly build; the shared
// conversation vectors in tests/vectors/conversations are written in that form.
//
// The nouns are few: Config (what the user configures) and Settings (a checked Config), State
// (the tokens and counters a host persists, see State.Encode), Machine and Conversation
// (the client's protocol state, and one conversation with it), Step and Result (what the
// driver does, and what happened), Lease and Status (what a driver may keep, and what a
// status page shows), and the error types, each with a stable Kind.
//
// Times are UnixMilli (milliseconds since the Unix epoch, as JavaScript's Date.now() gives
// them) and spans are Millis, so that the core links neither package time nor fmt and stays
// small in WebAssembly.
package caspio
