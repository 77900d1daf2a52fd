// Package client is the native Go driver of caspio-auth: it gets, caches, persists and
// refreshes the OAuth 2.0 access token of a Caspio REST API client, and sends resource
// requests with it over net/http.
//
// Every protocol decision (when to read, lock and write the store, which stored state to
// adopt, when to refresh or log in, what to retry and after how long, what a 401 or a
// redirect leads to, where the bearer token may go) is made by the core's sans-I/O machine,
// caspio.Machine, in package github.com/caspio-auth/caspio. This package is its driver: it
// performs the steps the machine asks for with net/http, a Store, the clock and goroutines,
// and makes concurrent callers share one acquisition. While it holds a valid lease on the
// access token, a request goes out without a call into the machine.
//
// # Starting
//
//	c, err := client.New(caspio.Config{
//		Account:      "c1abc123", // the subdomain of the integration URL
//		ClientID:     os.Getenv("CASPIO_CLIENT_ID"),
//		ClientSecret: caspio.NewSecret(os.Getenv("CASPIO_CLIENT_SECRET")),
//	}, client.Options{
//		// Persist the tokens: a program that logs in on every start spends the
//		// account's pool of 1,000 refresh tokens, which all its integrations share.
//		Store: client.NewFileStore(filepath.Join(cacheDir, "caspio", "token.json")),
//	})
//	if err != nil { ... }
//	req, err := c.NewRequest(ctx, "GET", "tables/Orders/records?q.pageSize=100", nil)
//	resp, err := c.Do(req) // adds the Bearer token; retries once after a 401
//	if resp.StatusCode >= 300 {
//		return client.APIErrorFromResponse(resp)
//	}
//
// Records reads a table's records a page at a time as a range loop asks for them, by the
// core's paging rules (caspio.Paging); Pages gives whole pages, ViewRecords and ViewPages
// read views, and InsertRecords, UpdateRecords and DeleteRecords write:
//
//	for rec, err := range c.Records(ctx, "Orders", caspio.Query{Where: "Status = 'Shipped'"}) {
//		if err != nil { ... }
//		fmt.Println(rec["PK_ID"])
//	}
//
// HTTPClient returns an *http.Client for code that wants one (its requests carry the
// token), Transport an http.RoundTripper, Token a *Token (the access token and its expiry
// times), and Status what the client knows of its tokens, for a status page.
//
// # Guarantees
//
//   - One token request at a time: concurrent callers in a process share one acquisition,
//     and processes sharing a Store that implements Locker (FileStore does) take turns,
//     each reusing the token the previous one stored.
//   - The bearer token goes only to the resource endpoint's REST base: other URLs are
//     refused with a *caspio.URLError, and a redirect elsewhere is followed without it.
//     Token requests never follow redirects.
//   - A resource request is sent again after a 429, a 503 or other 5xx, or a lost
//     connection only when its method does nothing twice (GET, HEAD, OPTIONS, PUT,
//     DELETE), at most caspio.MaxResourceRetries times, after the Retry-After or a backoff;
//     never a POST. Options.NoRetry and WithoutRetry turn it off.
//   - An access token that a 401 refused is never sent again, nor adopted again from the
//     Store; a token endpoint that issues it again gives a *caspio.TokenError of Kind
//     TOKEN_REISSUED.
//   - No secret (client secret, access or refresh token) appears in an error, an Event, or
//     the output of any fmt verb on a Client, Token or Store.
//   - Errors wrap the core's types: errors.As finds *caspio.OAuthError,
//     *caspio.ResponseError, *caspio.APIError, *caspio.URLError, *caspio.TokenError,
//     *caspio.RedirectError and *caspio.ConfigError.
//
// A Store that expires entries by itself (Workers KV, Redis) implements ExpiringStore, and
// is given with each state the expiry the core computes, the same in every runtime.
//
// The package builds for GOOS=js too, where a Go Worker supplies its own HTTPClient
// transport and Store (package github.com/caspio-auth/caspio/workers).
package client
