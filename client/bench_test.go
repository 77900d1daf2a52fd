package client_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
)

// canned answers every request with an empty 200 and makes no network call, so that a
// benchmark measures what a client adds to a request.
type canned struct{}

func (canned) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return &http.Response{
		Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, ContentLength: 0, Request: req,
	}, nil
}

// BenchmarkRequest measures one resource request with a token in hand, side by side: a
// plain request with a fixed Authorization header, golang.org/x/oauth2's Transport with a
// static token source, and Client.Do with a valid lease. All go over canned.
func BenchmarkRequest(b *testing.B) {
	const url = "https://c1abc123.caspio.com/rest/v2/tables/Orders/records?q.pageSize=100"
	const accessToken = "SECRET-access-token-0123456789abcdef"

	b.Run("plain", func(b *testing.B) {
		hc := &http.Client{Transport: canned{}}
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Authorization", "Bearer "+accessToken)
		measure(b, req, hc.Do)
	})

	b.Run("x-oauth2", func(b *testing.B) {
		hc := &http.Client{Transport: &oauth2.Transport{
			Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken, TokenType: "Bearer"}),
			Base:   canned{},
		}}
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Accept", "application/json")
		measure(b, req, hc.Do)
	})

	b.Run("caspio", func(b *testing.B) {
		now := time.UnixMilli(1_700_000_000_000)
		store := client.NewMemoryStore()
		state, err := json.Marshal(caspio.State{
			ClientID: "id-1", TokenURL: "https://c1abc123.caspio.com/oauth/token",
			AccessToken: caspio.NewSecret(accessToken), ObtainedAt: caspio.UnixMilli(now.UnixMilli()),
			ExpiresAt: caspio.UnixMilli(now.Add(24 * time.Hour).UnixMilli()),
		}.Encode())
		if err != nil {
			b.Fatal(err)
		}
		if err := store.Save(context.Background(), state); err != nil {
			b.Fatal(err)
		}
		c, err := client.New(caspio.Config{Account: "c1abc123", ClientID: "id-1", ClientSecret: caspio.NewSecret("SECRET-1")},
			client.Options{HTTPClient: &http.Client{Transport: canned{}}, Store: store, Now: func() time.Time { return now }})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Token(context.Background()); err != nil { // the stored token: a lease
			b.Fatal(err)
		}
		req, err := c.NewRequest(context.Background(), "GET", "tables/Orders/records?q.pageSize=100", nil)
		if err != nil {
			b.Fatal(err)
		}
		measure(b, req, c.Do)
	})
}

func measure(b *testing.B, req *http.Request, do func(*http.Request) (*http.Response, error)) {
	b.ReportAllocs()
	for b.Loop() {
		resp, err := do(req)
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		_ = resp.Body.Close()
	}
}
