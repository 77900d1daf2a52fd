//go:build js && wasm

// Command go-proxy is a Cloudflare Worker, written in Go with github.com/syumai/workers: an
// authenticating edge proxy for the Caspio REST API. Callers send requests under
// PROXY_PREFIX with a shared key (or from an allowed browser origin); the Worker checks them
// against PROXY_ALLOW and forwards them to Caspio with the account's bearer token, which it
// keeps in Workers KV. See README.md.
package main

import (
	"log"
	"os"

	"github.com/syumai/workers"
	"github.com/syumai/workers/cloudflare"

	"github.com/caspio-auth/caspio/client"
	caspioworkers "github.com/caspio-auth/caspio/workers"
)

// tokensBinding is the KV namespace binding that holds the token state.
const tokensBinding = "CASPIO_TOKENS"

func main() {
	// syumai/workers runs main once per request, in a fresh Go instance: nothing here
	// outlives the request, so the tokens live in KV.
	workers.Serve(newProxy(cloudflare.Getenv, deps{
		HTTPClient: caspioworkers.HTTPClient(),
		Store: func(clientID string) (client.Store, error) {
			return caspioworkers.NewKVStore(tokensBinding, "caspio-token:"+clientID)
		},
		Logger: log.New(os.Stdout, "go-proxy: ", 0),
	}))
}
