package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/sandbox"
)

// startSandbox runs the Caspio emulator on loopback, as the examples' stand-in for an
// account, and returns the Config of a client of it.
func startSandbox() (*sandbox.Server, *httptest.Server, caspio.Config) {
	sb := sandbox.New(sandbox.Options{})
	ts := httptest.NewServer(sb)
	return sb, ts, caspio.Config{
		IntegrationURL: ts.URL, // in production: Account: "c1abc123"
		ClientID:       sandbox.DefaultClientID,
		ClientSecret:   caspio.NewSecret(sandbox.DefaultClientSecret),
	}
}

func ExampleClient_Token() {
	sb, ts, cfg := startSandbox()
	defer ts.Close()

	c, err := client.New(cfg, client.Options{Now: sb.Now})
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := c.Token(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("logins:", tok.Logins)
	fmt.Println("refreshed this long before expiry:", tok.ExpiresAt.Sub(tok.ValidUntil))
	fmt.Println("printing is safe:", tok.AccessToken)
	// Output:
	// logins: 1
	// refreshed this long before expiry: 5m0s
	// printing is safe: [redacted]
}

func ExampleClient_Do() {
	sb, ts, cfg := startSandbox()
	defer ts.Close()
	c, err := client.New(cfg, client.Options{Now: sb.Now})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()

	req, err := c.NewRequest(ctx, "GET", "tables", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := c.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var tables struct{ Result []string }
	if err := json.NewDecoder(resp.Body).Decode(&tables); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tables.Result)

	// A non-2xx answer becomes a *caspio.APIError.
	req, _ = c.NewRequest(ctx, "GET", "tables/Invoices/records", nil)
	resp, err = c.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	var apiErr *caspio.APIError
	if errors.As(client.APIErrorFromResponse(resp), &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Code)
	}
	// Output:
	// [Customers Orders Products]
	// 404 ObjectNotFound
}

func ExampleClient_HTTPClient() {
	sb, ts, cfg := startSandbox()
	defer ts.Close()
	c, err := client.New(cfg, client.Options{Now: sb.Now})
	if err != nil {
		fmt.Println(err)
		return
	}

	// Code that takes an *http.Client gets one whose requests carry the token.
	hc := c.HTTPClient()
	resp, err := hc.Get(ts.URL + "/rest/v2/tables/Products/records?q.select=Name&q.where=PK_ID<3&q.orderBy=PK_ID")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var products struct{ Result []struct{ Name string } }
	if err := json.NewDecoder(resp.Body).Decode(&products); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, products.Result)

	// The token goes nowhere else.
	_, err = hc.Get("https://example.com/steal")
	fmt.Println(err != nil)
	// Output:
	// 200 [{Classic Mug} {Classic Lamp}]
	// true
}

func ExampleNewFileStore() {
	sb, ts, cfg := startSandbox()
	defer ts.Close()
	dir, err := os.MkdirTemp("", "caspio-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "caspio", "token.json")

	// Three runs of a program, one per day: the first logs in, the next reuse the stored
	// token or refresh it, and the account's refresh token pool is spared.
	for day := 1; day <= 3; day++ {
		c, err := client.New(cfg, client.Options{Store: client.NewFileStore(path), Now: sb.Now})
		if err != nil {
			fmt.Println(err)
			return
		}
		tok, err := c.Token(context.Background())
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("day %d: logins %d, refreshes %d\n", day, tok.Logins, tok.Refreshes)
		sb.Advance(24 * time.Hour)
	}
	fmt.Println("client_credentials requests:", sb.Stats().TokenRequests["client_credentials"])
	// Output:
	// day 1: logins 1, refreshes 0
	// day 2: logins 1, refreshes 1
	// day 3: logins 1, refreshes 2
	// client_credentials requests: 1
}
