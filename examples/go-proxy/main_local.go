//go:build !(js && wasm)

// Command go-proxy, built for the host instead of a Worker, serves the same proxy on
// 127.0.0.1 for local debugging, reading its configuration from the process environment and
// keeping the tokens in a file. Deploy the Worker build instead (see README.md).
package main

import (
	"log"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/caspio-auth/caspio/client"
)

func main() {
	addr := os.Getenv("PROXY_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8787"
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		log.Fatalf("go-proxy: no cache directory for the token file: %v", err)
	}
	logger := log.New(os.Stderr, "go-proxy: ", log.LstdFlags)
	handler := newProxy(os.Getenv, deps{
		Store: func(clientID string) (client.Store, error) {
			return client.NewFileStore(filepath.Join(cache, "caspio", "go-proxy-token.json")), nil
		},
		Logger: logger,
	})
	logger.Printf("listening on http://%s (local build; the Worker build uses fetch and KV)", addr)
	srv := &http.Server{Addr: addr, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
