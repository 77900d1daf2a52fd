// Package client is the native Go driver of caspio-auth: it gets, caches, persists and
// refreshes the OAuth 2.0 access token of a Caspio REST API client, and sends resource
// requests with it over net/http.
//
// The protocol decisions (when to refresh, how to read a token response, when to retry,
// where the bearer token may go) are made by the core package,
// github.com/caspio-auth/caspio, which performs no I/O; this package performs the requests
// and waits it asks for, keeps the state in a Store, and makes concurrent callers share one
// token request.
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
// HTTPClient returns an *http.Client for code that wants one (its requests carry the
// token), Transport an http.RoundTripper, and Token the token itself.
//
// # Guarantees
//
//   - One token request at a time: concurrent callers in a process share one acquisition,
//     and processes sharing a Store that implements Locker (FileStore does) take turns,
//     each reusing the token the previous one stored.
//   - The bearer token goes only to the resource endpoint's REST base: other URLs are
//     refused with a *caspio.URLError, and a redirect elsewhere is followed without it.
//     Token requests never follow redirects.
//   - No secret (client secret, access or refresh token) appears in an error, an Event, or
//     the output of any fmt verb on a Client, Token or Store.
//   - Errors wrap the core's types: errors.As finds *caspio.OAuthError,
//     *caspio.ResponseError, *caspio.APIError, *caspio.URLError and *caspio.ConfigError.
//
// The package builds for GOOS=js too, where a Go Worker supplies its own HTTPClient
// transport and Store.
package client
