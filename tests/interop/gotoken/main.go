// Command gotoken is the Go side of the JS suite's tests of one token file shared by Go
// and Node. By default it gets a token with the Go client and a FileStore and prints the
// client's Stats as JSON.
//
//	CASPIO_CLIENT_SECRET=... go run ./tests/interop/gotoken -url http://127.0.0.1:PORT -file token.json
//
// Its other modes drive the FileStore alone:
//
//	-ready        print "ready" and wait for a line on stdin before getting the token, so
//	              that a test can start a Go and a Node process on one file at once
//	-hold         take the file's lock (waiting at most -lock-wait), print "locked", wait for
//	              a line on stdin (or its end), release the lock and print "unlocked"
//	-churn D      for at most D, lock, load, save what was loaded (with -churn-save) and
//	              unlock, again and again: a process for a test to kill at any moment
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
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
	ready := flag.Bool("ready", false, `print "ready" and wait for a line on stdin before getting the token`)
	hold := flag.Bool("hold", false, "hold the file's lock until a line (or the end) of stdin")
	lockWait := flag.Duration("lock-wait", 30*time.Second, "how long -hold waits for the lock")
	churn := flag.Duration("churn", 0, "lock, load, save and unlock the file in a loop for this long")
	churnSave := flag.Bool("churn-save", true, "with -churn, save the loaded state under the lock")
	flag.Parse()
	if *file == "" || (*url == "" && !*hold && *churn == 0) {
		fmt.Fprintln(os.Stderr, "usage: gotoken -url URL -file PATH [-ready] | -file PATH -hold | -file PATH -churn DURATION")
		os.Exit(2)
	}
	store := client.NewFileStore(*file)
	switch {
	case *hold:
		os.Exit(holdLock(store, *lockWait))
	case *churn > 0:
		os.Exit(churnFile(store, *churn, *churnSave))
	}

	cfg := caspio.Config{IntegrationURL: *url, ClientID: *clientID, ClientSecret: caspio.NewSecret(os.Getenv("CASPIO_CLIENT_SECRET"))}
	c, err := client.New(cfg, client.Options{Store: store})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gotoken:", err)
		os.Exit(1)
	}
	if *ready {
		fmt.Println("ready")
		if !bufio.NewScanner(os.Stdin).Scan() {
			os.Exit(1)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Token(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "gotoken:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(c.Stats())
}

// holdLock takes the lock and keeps it until stdin says otherwise. It exits 3 when the
// lock could not be taken in time.
func holdLock(store *client.FileStore, wait time.Duration) int {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	unlock, err := store.Lock(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gotoken:", err)
		if errors.Is(err, context.DeadlineExceeded) {
			return 3
		}
		return 1
	}
	fmt.Println("locked")
	bufio.NewScanner(os.Stdin).Scan()
	if err := unlock(); err != nil {
		fmt.Fprintln(os.Stderr, "gotoken:", err)
		return 1
	}
	fmt.Println("unlocked")
	return 0
}

// churnFile is a writer for a test to kill -9 at a random moment: it says "churning",
// then locks, loads, saves and unlocks until d has passed.
func churnFile(store *client.FileStore, d time.Duration, save bool) int {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	fmt.Println("churning")
	for ctx.Err() == nil {
		unlock, err := store.Lock(ctx)
		if err != nil {
			break
		}
		data, err := store.Load(ctx)
		if err == nil && data != nil && save {
			err = store.Save(ctx, data)
		}
		if uerr := unlock(); err == nil {
			err = uerr
		}
		if err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "gotoken:", err)
			return 1
		}
	}
	return 0
}
