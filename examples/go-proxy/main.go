//go:build js && wasm

// Command go-proxy is a Cloudflare Worker, written in Go with github.com/syumai/workers: an
// authenticating edge proxy for the Caspio REST API. Callers send requests under
// PROXY_PREFIX with a key, as users signed in through Cloudflare Access, or, where a rule
// says PUBLIC, as anyone; the Worker checks them against PROXY_ALLOW and forwards them to
// Caspio with the account's bearer token, which it keeps in a TokenBroker Durable Object
// (CASPIO_BROKER). See README.md.
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

// The token store: the TokenBroker Durable Object bound as CASPIO_BROKER, whose lock lets one
// request of the whole deployment make a token request at a time. Workers KV alone
// (CASPIO_TOKENS) is refused: syumai/workers runs every request in a fresh Go instance, so
// there is no memory to share a token request in, and KV has no lock: each request of a
// cold burst would log in, spending one of the account's 1,000 refresh tokens each.
const (
	brokerBinding = "CASPIO_BROKER"
	tokensBinding = "CASPIO_TOKENS"
)

// errKVAlone says why a deployment with KV but no broker does not serve.
var errKVAlone = errors.New("CASPIO_TOKENS (Workers KV) is bound but CASPIO_BROKER is not: the Go proxy keeps its tokens in the TokenBroker Durable Object only, since KV has no lock and every request runs in a fresh Go instance, so each request of a cold burst would log in and spend one of the account's 1,000 refresh tokens; deploy the broker Worker of broker/ and bind CASPIO_BROKER (durable_objects in wrangler.jsonc)")

func main() {
	// syumai/workers runs main once per request, in a fresh Go instance: nothing here
	// outlives the request, so the tokens live in the broker or in KV.
	workers.Serve(newProxy(cloudflare.Getenv, deps{
		HTTPClient: caspioworkers.HTTPClient(),
		Store: func(clientID string) (client.Store, error) {
			store, err := caspioworkers.NewBrokerStore(brokerBinding, "caspio-token:"+clientID)
			if errors.Is(err, caspioworkers.ErrNotBound) {
				if _, kvErr := caspioworkers.NewKVStore(tokensBinding, "caspio-token:"+clientID); kvErr == nil {
					return nil, errKVAlone
				}
			}
			return store, err
		},
		KeyCache: cacheAPIKeys{cache.New()},
		Logger:   log.New(os.Stdout, "go-proxy: ", 0),
	}))
}
