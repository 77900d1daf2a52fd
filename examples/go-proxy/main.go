//go:build js && wasm

// Command go-proxy is a Cloudflare Worker, written in Go with github.com/syumai/workers: an
// authenticating edge proxy for the Caspio REST API. Callers send requests under
// PROXY_PREFIX with a key, as users signed in through Cloudflare Access, or, where a rule
// says PUBLIC, as anyone; the Worker checks them against PROXY_ALLOW and forwards them to
// Caspio with the account's bearer token, which it keeps in a TokenBroker Durable Object
// (CASPIO_BROKER) or Workers KV (CASPIO_TOKENS). See README.md.
package main

import (
	"errors"
	"log"
	"os"

	"github.com/syumai/workers"
	"github.com/syumai/workers/cloudflare"
	"github.com/syumai/workers/cloudflare/cache"

	"github.com/caspio-auth/caspio/client"
	caspioworkers "github.com/caspio-auth/caspio/workers"
)

// The token store: the TokenBroker Durable Object bound as CASPIO_BROKER when it is bound
// (one token request at a time for the whole deployment), else the KV namespace
// CASPIO_TOKENS.
const (
	brokerBinding = "CASPIO_BROKER"
	tokensBinding = "CASPIO_TOKENS"
)

func main() {
	// syumai/workers runs main once per request, in a fresh Go instance: nothing here
	// outlives the request, so the tokens live in the broker or in KV.
	workers.Serve(newProxy(cloudflare.Getenv, deps{
		HTTPClient: caspioworkers.HTTPClient(),
		Store: func(clientID string) (client.Store, error) {
			store, err := caspioworkers.NewBrokerStore(brokerBinding, "caspio-token:"+clientID)
			if errors.Is(err, caspioworkers.ErrNotBound) {
				store, err = caspioworkers.NewKVStore(tokensBinding, "caspio-token:"+clientID)
			}
			return store, err
		},
		KeyCache: cacheAPIKeys{cache.New()},
		Logger:   log.New(os.Stdout, "go-proxy: ", 0),
	}))
}
