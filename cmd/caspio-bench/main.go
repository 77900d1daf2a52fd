// Command caspio-bench measures the figures that BENCHMARKS.md records, each side by side
// with its baseline in one run.
//
//	go run ./cmd/caspio-bench restarts [-n 720] [-every 1h]
//
// restarts: a program that starts hourly for 30 simulated days (720 starts) against the
// sandbox, each start a new client that gets a token. Without a store every start logs in
// with client_credentials and mints one of the account's 1,000 refresh tokens; with a file
// store the first start logs in and the rest reuse or refresh the stored tokens.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/sandbox"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "restarts" {
		fmt.Fprintln(os.Stderr, "usage: caspio-bench restarts [-n 720] [-every 1h]")
		os.Exit(2)
	}
	if err := restarts(os.Args[2:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "caspio-bench:", err)
		os.Exit(1)
	}
}

func restarts(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("restarts", flag.ContinueOnError)
	n := fs.Int("n", 720, "how many times the program starts")
	every := fs.Duration("every", time.Hour, "simulated time between starts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *n > 100_000 {
		return fmt.Errorf("-n %d: give from 1 to 100000 starts", *n)
	}
	fmt.Fprintf(out, "%d client starts, one every %s of sandbox time (%s in all)\n\n", *n, *every, time.Duration(*n)*(*every))
	fmt.Fprintln(out, "| store | client_credentials logins | refresh_token grants | refresh tokens minted | wall time |")
	fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: |")
	for _, withStore := range []bool{false, true} {
		row, err := simulate(*n, *every, withStore)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, row)
	}
	return nil
}

// simulate runs n starts against a fresh sandbox and returns a table row of what the
// sandbox counted.
func simulate(n int, every time.Duration, withStore bool) (string, error) {
	box := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(box)
	defer srv.Close()
	dir, err := os.MkdirTemp("", "caspio-bench-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)

	cfg := caspio.Config{IntegrationURL: srv.URL, ClientID: sandbox.DefaultClientID, ClientSecret: caspio.NewSecret(sandbox.DefaultClientSecret)}
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < n; i++ {
		opts := client.Options{Now: box.Now}
		if withStore {
			opts.Store = client.NewFileStore(filepath.Join(dir, "token.json"))
		}
		c, err := client.New(cfg, opts)
		if err != nil {
			return "", err
		}
		if _, err := c.Token(ctx); err != nil {
			return "", fmt.Errorf("start %d: %w", i+1, err)
		}
		box.Advance(every)
	}
	elapsed := time.Since(start)
	stats := box.Stats()
	name := "none (memory only)"
	if withStore {
		name = "file store"
	}
	return fmt.Sprintf("| %s | %d | %d | %d | %s |", name, stats.TokenRequests["client_credentials"],
		stats.TokenRequests["refresh_token"], stats.RefreshTokensMinted, elapsed.Round(time.Millisecond)), nil
}
