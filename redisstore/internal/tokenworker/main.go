// Command tokenworker is a process of the cross-process tests (tests/redis/): it makes a
// client of the sandbox at -url on a redisstore.Store, says "ready", waits for "go" on
// stdin, gets a token and prints what it got as JSON: a digest of the access token (never
// the token), and the state's logins and refreshes.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/redisstore"
	"github.com/redis/go-redis/v9"
)

func main() {
	url := flag.String("url", "", "the sandbox's URL")
	addr := flag.String("redis", "127.0.0.1:6379", "the Redis server")
	key := flag.String("key", "caspio-token", "the store's key")
	flag.Parse()
	rdb := redis.NewClient(&redis.Options{Addr: *addr})
	defer rdb.Close()
	var storeErrors, discarded int
	c, err := client.New(caspio.Config{IntegrationURL: *url, ClientID: "sandbox-client", ClientSecret: caspio.NewSecret("sandbox-secret")},
		client.Options{Store: redisstore.New(rdb, *key), OnEvent: func(e client.Event) {
			switch e.Kind {
			case client.EventStoreError:
				storeErrors++
			case client.EventStateDiscarded:
				discarded++
			}
		}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() && in.Text() != "go" {
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tok, err := c.Token(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sum := sha256.Sum256([]byte(tok.AccessToken.Reveal()))
	out, _ := json.Marshal(map[string]any{"token": hex.EncodeToString(sum[:8]), "logins": tok.Logins, "refreshes": tok.Refreshes, "storage_errors": storeErrors, "state_discarded": discarded})
	fmt.Println(string(out))
}
