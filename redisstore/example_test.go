package redisstore_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/redisstore"
	"github.com/redis/go-redis/v9"
)

// A service in several containers shares one token through Redis: the first container
// that needs a token logs in, the others read it, and a Node job given the same key
// (redisStorage from 'caspio-auth/redis') shares it too.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer rdb.Close()
	c, err := client.New(caspio.Config{
		Account:      "c1abc123",
		ClientID:     os.Getenv("CASPIO_CLIENT_ID"),
		ClientSecret: caspio.NewSecret(os.Getenv("CASPIO_CLIENT_SECRET")),
	}, client.Options{
		Store: redisstore.New(rdb, "caspio:orders-app"),
		OnEvent: func(e client.Event) {
			if e.Kind == client.EventStoreError {
				log.Printf("token store: %v", e.Err) // the client goes on with the token in memory
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := c.Token(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("token valid until", tok.ValidUntil)
}

// A Redis Cluster (or a failover client) serves as well: the state and the lock share the
// hash tag {caspio:orders-app}, so they live on one slot.
func ExampleNew_cluster() {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"redis-0:6379", "redis-1:6379", "redis-2:6379"}})
	store := redisstore.New(rdb, "caspio:orders-app")
	fmt.Println(store)
	// Output: caspio redis store {caspio:orders-app}
}
