// Package workers lets a Cloudflare Worker written in Go with github.com/syumai/workers use
// the native driver, package github.com/caspio-auth/caspio/client, unchanged: it supplies the
// two things that driver needs from its host, an HTTP transport and a token Store.
//
//	hc := workers.HTTPClient() // or &http.Client{Transport: workers.Transport()}
//	store, err := workers.NewBrokerStore("CASPIO_BROKER", "caspio-token:"+clientID)
//	// or: workers.NewKVStore("CASPIO_TOKENS", "caspio-token:"+clientID)
//	if err != nil { ... }
//	c, err := client.New(cfg, client.Options{HTTPClient: hc, Store: store})
//
// Transport sends requests with the Workers runtime's fetch, through syumai/workers'
// fetch.Client: Go's own http.DefaultTransport does not work inside a Worker.
//
// syumai/workers starts a fresh Go instance for every request, so nothing held in Go memory
// survives a request: without a shared Store, every request would log in again and spend
// one of the account's 1,000 refresh tokens. NewBrokerStore keeps the token state (the JSON
// that every caspio-auth runtime reads and writes) in caspio-auth's TokenBroker Durable
// Object, through its fetch interface, and takes the broker's lock around every token
// request, so that a whole deployment makes one token request at a time; NewKVStore keeps it
// in a Workers KV namespace, without a lock.
//
// The package builds on every platform so that its documentation and API are the same
// everywhere, but it works only in a Worker (GOOS=js GOARCH=wasm): elsewhere Transport's
// requests, NewKVStore and NewBrokerStore fail with ErrNotInWorker.
package workers
