package caspio_test

import (
	"fmt"
	"strconv"

	"github.com/caspio-auth/caspio"
)

// A driver's loop: the machine says what to do next, the driver does it and feeds back what
// happened, until a done or fail step. Here the token endpoint, the resource endpoint and
// the store are funcs and a variable; a real driver performs the same steps with its HTTP
// client, its store and its clock.
func Example() {
	settings, err := caspio.NewSettings(caspio.Config{
		Account:      "c1abc123",
		ClientID:     "my-client-id",
		ClientSecret: caspio.NewSecret("my-client-secret"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := caspio.NewMachine(settings, caspio.Options{}) // one per client object, kept with it
	if err != nil {
		fmt.Println(err)
		return
	}

	issued := 0
	tokenEndpoint := func(caspio.Request) caspio.Response {
		issued++
		return caspio.Response{Status: 200, Body: map[string]any{ // the JSON body, decoded
			"access_token": "token-" + strconv.Itoa(issued), "token_type": "bearer",
			"expires_in": float64(86399), "refresh_token": "refresh-1",
		}}
	}
	resourceEndpoint := func(authorization string) int {
		if authorization == "Bearer token-1" {
			return 401 // this token was revoked on the server
		}
		return 200
	}
	var stored map[string]any // the store: what State.Encode gave, as JSON would keep it
	now := caspio.UnixMilli(1_700_000_000_000)

	run := func(c *caspio.Conversation) caspio.Step {
		step := c.Step()
		for {
			r := caspio.Result{Kind: step.Kind, Now: now, Jitter: 0.5}
			switch step.Kind {
			case caspio.StepDone, caspio.StepFail:
				return step
			case caspio.StepTokenRequest:
				fmt.Println("token request:", step.Request.Grant)
				r.Response = tokenEndpoint(step.Request)
			case caspio.StepSend:
				status := resourceEndpoint(step.Request.Authorization.Reveal())
				fmt.Println("send:", step.Request.Method, step.Request.URL, "->", status)
				r.Response = caspio.Response{Status: status}
			case caspio.StepRead:
				if stored != nil {
					r.Stored = stored
				}
			case caspio.StepWrite:
				stored = step.State.Encode()
			case caspio.StepWait:
				now = now.Add(step.Wait)
			}
			// Lock and unlock are asked for only with Options.Lock; join only when another
			// caller's acquisition is in flight.
			step = c.Next(r)
		}
	}

	done := run(m.Token(now))
	fmt.Println("lease:", done.Lease.Authorization, "for", done.Lease.ValidUntil.Sub(now)/caspio.Hour, "h")

	done = run(m.Fetch(caspio.ResourceRequest{Ref: "tables"}, now))
	st := done.Status
	fmt.Println(done.Kind+":", st.Counters.Logins, "login,", st.Counters.Refreshes, "refresh,", st.UnauthorizedRetries, "request sent again after a 401")

	// Output:
	// token request: client_credentials
	// lease: [redacted] for 23 h
	// send: GET https://c1abc123.caspio.com/rest/v2/tables -> 401
	// token request: refresh_token
	// send: GET https://c1abc123.caspio.com/rest/v2/tables -> 200
	// done: 1 login, 1 refresh, 1 request sent again after a 401
}

// The pieces the Machine is made of, played by hand: Decide says what to do, TokenRequest
// describes the request, HandleTokenResponse interprets its answer. A driver uses the
// Machine instead (see the package example), which calls them in the right order.
func ExampleSettings_HandleTokenResponse() {
	settings, err := caspio.NewSettings(caspio.Config{
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

	d := settings.Decide(state, now)
	fmt.Println("decision:", d.Action)

	req := settings.TokenRequest(d.Action, state)
	fmt.Println("request:", req.Method, req.URL, req.Grant)

	// The host sends req, decodes the JSON answer and hands it back.
	resp := caspio.Response{Status: 200, ContentType: "application/json", Body: map[string]any{
		"access_token": "token-1", "token_type": "bearer", "expires_in": float64(86399), "refresh_token": "refresh-1",
	}}
	res := settings.HandleTokenResponse(d.Action, state, resp, now, 0, 0.5)
	if res.Err != nil {
		fmt.Println(res.Err)
		return
	}
	state = res.State // a real host stores res.State.Encode() now

	d = settings.Decide(state, now.Add(caspio.Hour))
	fmt.Println("decision:", d.Action, "until", d.Lease.ValidUntil.Sub(now)/caspio.Hour, "h")
	fmt.Println("printed lease:", d.Lease.Authorization)
	url, _ := settings.ResolveURL("tables/Orders/records?q.pageSize=100")
	fmt.Println("resource:", url)

	// Output:
	// decision: authenticate
	// request: POST https://c1abc123.caspio.com/oauth/token client_credentials
	// decision: lease until 23 h
	// printed lease: [redacted]
	// resource: https://c1abc123.caspio.com/rest/v2/tables/Orders/records?q.pageSize=100
}

func ExampleSettings_ResolveURL() {
	settings, _ := caspio.NewSettings(caspio.Config{Account: "c1abc123", ClientID: "id", ClientSecret: caspio.NewSecret("secret")})
	for _, ref := range []string{"/v2/tables", "tables/Orders/records?q.where=City='Oslo'", "https://elsewhere.example/rest/v2/tables"} {
		url, err := settings.ResolveURL(ref)
		fmt.Println(url, err)
	}
	// Output:
	// https://c1abc123.caspio.com/rest/v2/tables <nil>
	// https://c1abc123.caspio.com/rest/v2/tables/Orders/records?q.where=City='Oslo' <nil>
	//  caspio: resource URL "https://elsewhere.example/rest/v2/tables": is not on the resource endpoint https://c1abc123.caspio.com; the bearer token is sent nowhere else
}
