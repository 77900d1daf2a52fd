package caspio_test

import (
	"fmt"

	"github.com/caspio-auth/caspio"
)

// A driver's loop, with the HTTP exchange played by hand: the core says what to do, the
// host does it and reports back.
func Example() {
	flow, err := caspio.NewFlow(caspio.Config{
		Account:      "c1abc123",
		ClientID:     "my-client-id",
		ClientSecret: caspio.NewSecret("my-client-secret"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var state caspio.State // a real host loads this from its store
	now := caspio.UnixMilli(1_700_000_000_000)

	d := flow.Decide(state, now)
	fmt.Println("decision:", d.Action)

	req := flow.TokenRequest(d.Action, state)
	fmt.Println("request:", req.Method, req.URL, req.Grant)

	// The host sends req, decodes the JSON answer and hands it back.
	resp := caspio.Response{Status: 200, ContentType: "application/json", Body: map[string]any{
		"access_token": "token-1", "token_type": "bearer", "expires_in": float64(86399), "refresh_token": "refresh-1",
	}}
	res := flow.HandleTokenResponse(d.Action, state, resp, now, 0, 0.5)
	if res.Err != nil {
		fmt.Println(res.Err)
		return
	}
	state = res.State // a real host stores res.State.Encode() now

	d = flow.Decide(state, now.Add(caspio.Hour))
	fmt.Println("decision:", d.Action, "until", d.Lease.ValidUntil.Sub(now)/caspio.Hour, "h")
	fmt.Println("printed lease:", d.Lease.Authorization)
	url, _ := flow.ResolveURL("tables/Orders/records?q.pageSize=100")
	fmt.Println("resource:", url)

	// Output:
	// decision: authenticate
	// request: POST https://c1abc123.caspio.com/oauth/token client_credentials
	// decision: lease until 23 h
	// printed lease: [redacted]
	// resource: https://c1abc123.caspio.com/rest/v2/tables/Orders/records?q.pageSize=100
}

func ExampleFlow_ResolveURL() {
	flow, _ := caspio.NewFlow(caspio.Config{Account: "c1abc123", ClientID: "id", ClientSecret: caspio.NewSecret("secret")})
	for _, ref := range []string{"/v2/tables", "tables/Orders/records?q.where=City='Oslo'", "https://elsewhere.example/rest/v2/tables"} {
		url, err := flow.ResolveURL(ref)
		fmt.Println(url, err)
	}
	// Output:
	// https://c1abc123.caspio.com/rest/v2/tables <nil>
	// https://c1abc123.caspio.com/rest/v2/tables/Orders/records?q.where=City='Oslo' <nil>
	//  caspio: resource URL "https://elsewhere.example/rest/v2/tables": is not on the resource endpoint https://c1abc123.caspio.com; the bearer token is sent nowhere else
}
