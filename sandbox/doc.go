// Package sandbox is a local emulator of a Caspio account: its OAuth 2.0 token endpoint
// and its REST API (v2 and v3), with seeded demo tables, a clock that tests can move, and
// injectable faults. Clients in every runtime (Go, Node, browsers, Workers) are tested
// against it instead of a real account, which would rate-limit them and whose refresh
// token pool (1,000 per account) tests would exhaust.
//
// It deliberately imports nothing from the client packages of this module: an emulator
// that reused the client's parsing would agree with the client's mistakes.
//
// # Starting it
//
// As a process, for JS tests or by hand:
//
//	go run ./cmd/caspio-sandbox [-addr 127.0.0.1:0] [-rotate-refresh] [-v]
//
// Its first line on stdout is "listening on http://HOST:PORT".
//
// From Go tests:
//
//	sb := sandbox.New(sandbox.Options{})
//	srv := httptest.NewServer(sb)
//	defer srv.Close()
//	// token endpoint: srv.URL + "/oauth/token"; resources: srv.URL + "/rest/v2"
//	sb.Advance(25 * time.Hour) // expire the access token
//
// The default credentials are DefaultClientID ("sandbox-client") and
// DefaultClientSecret ("sandbox-secret").
//
// # What it emulates
//
// POST /oauth/token takes grant_type=client_credentials (credentials in the body or in
// an Authorization: Basic header, decoded strictly) and grant_type=refresh_token. Each
// client_credentials grant mints a refresh token; at most Options.RefreshTokenCap live
// ones are kept and minting one more silently evicts the oldest, as at Caspio. A refresh
// token never used expires 60 days after it was issued, one used at least once a year
// after. Errors follow RFC 6749: invalid_client (401), invalid_grant (400 for an unknown,
// revoked or evicted refresh token; 401 for an expired one, as Caspio answers),
// unsupported_grant_type and invalid_request (400).
//
// The resource API answers under /rest/v2 and /integrations/rest/v3: GET tables,
// GET tables/{t}/fields, and GET, POST, PUT and DELETE tables/{t}/records with q.select,
// q.where (a small SQL subset), q.orderBy, q.groupBy (distinct values only), q.limit,
// q.pageNumber and q.pageSize. Errors are Caspio-shaped ({"Code", "Message", "Resource",
// "RequestId"}) and every response carries X-Caspio-Request-ID. The seeded tables are
// Customers (250 records), Orders (2,500) and Products (40), the same on every start.
//
// # Control API
//
// Under /__sandbox/, without authentication, all JSON:
//
//	GET  /__sandbox/                   the routes
//	GET  /__sandbox/clock              {"now": RFC 3339}
//	POST /__sandbox/clock?advance=25h  move the clock (Go duration, or days: 61d, 1d12h)
//	GET  /__sandbox/faults             the queued faults, with what remains of each count
//	POST /__sandbox/faults             queue one fault object or an array of them
//	DELETE /__sandbox/faults           clear them
//	GET  /__sandbox/stats              the Stats counters
//	POST /__sandbox/reset              tokens, stats, faults, clock and data back to the start
//	POST /__sandbox/revoke             revoke every access and refresh token
//
// # Faults
//
// A fault replaces the normal handling of the next count requests whose path starts with
// route. Faults are queued in order, and a request takes the first matching one:
//
//	{"route": "/oauth/token", "count": 2, "status": 503, "retry_after": "1"}
//	{"route": "/rest/v2/", "delay_ms": 300}                  a pure delay, then normal handling
//	{"route": "/rest/v2/", "status": 200, "body": "not json", "content_type": "text/html"}
//	{"route": "/oauth/token", "drop": true}                  close the connection, no response
//	{"route": "/oauth/token", "status": 302, "location": "https://example.invalid/"}
//
// Fields: route (required), count (default 1), status (200-599; with no status and no
// body the fault is a pure delay), delay_ms (capped at 60 s, ends early if the client goes
// away), body (verbatim; if absent, an error body shaped for the route), content_type
// (default application/json), retry_after and location (headers), drop. A faulted token
// request still counts in Stats.TokenRequests. CORS preflights and the control API are
// never faulted.
package sandbox
