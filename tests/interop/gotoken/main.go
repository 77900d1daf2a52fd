// Command gotoken gets a token with the Go client and a FileStore, for the JS suite's test
// that Go and Node share one token file. It prints the client's Stats as JSON.
//
//	CASPIO_CLIENT_SECRET=... go run ./tests/interop/gotoken -url http://127.0.0.1:PORT -file token.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
)

func main() {
	url := flag.String("url", "", "integration URL of the sandbox")
	file := flag.String("file", "", "token file shared with Node")
	clientID := flag.String("client-id", "sandbox-client", "client ID")
	flag.Parse()
	if *url == "" || *file == "" {
		fmt.Fprintln(os.Stderr, "usage: gotoken -url URL -file PATH")
		os.Exit(2)
	}
	cfg := caspio.Config{IntegrationURL: *url, ClientID: *clientID, ClientSecret: caspio.NewSecret(os.Getenv("CASPIO_CLIENT_SECRET"))}
	c, err := client.New(cfg, client.Options{Store: client.NewFileStore(*file)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gotoken:", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Token(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "gotoken:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(c.Stats())
}
