// Command caspio-bench measures the figures that BENCHMARKS.md records, each side by side
// with its baseline in one run.
//
//	go run ./cmd/caspio-bench restarts [-n 720] [-every 1h]
//	go run ./cmd/caspio-bench peers [-requests 5000] [-concurrency 50] [-rounds 5]
//	    [-callers 1000] [-starts 720] [-json FILE]
//	go run ./cmd/caspio-bench records [-rounds 7] [-reads 20]
//
// restarts: a program that starts hourly for 30 simulated days (720 starts) against the
// sandbox, each start a new client that gets a token. Without a store every start logs in
// with client_credentials and mints one of the account's 1,000 refresh tokens; with a file
// store the first start logs in and the rest reuse or refresh the stored tokens.
//
// peers: caspio-auth's Go client beside golang.org/x/oauth2 (its clientcredentials package,
// as a Go program would use it) and the limit, plain requests with a fixed Authorization
// header: CPU per request under load, token requests for concurrent cold callers, and logins
// over hourly restarts. With -json it also writes the figures as JSON, which
// tests/bench/report.mjs turns into BENCHMARKS.md's peer tables and docs/bench-peers.svg.
//
// records: rows per second reading all of the sandbox's Orders with client.Records, beside a
// hand-written paging loop over Do.
//
// resource-server is peers' helper, run as a child process so that its CPU is not counted:
// a minimal resource endpoint on 127.0.0.1 that answers every request with the same small
// JSON body. It prints "listening on http://HOST:PORT" and stops when its stdin closes.
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

const usage = `usage: caspio-bench restarts [-n 720] [-every 1h]
       caspio-bench peers [-requests 5000] [-concurrency 50] [-rounds 5] [-callers 1000] [-starts 720] [-json FILE]
       caspio-bench records [-rounds 7] [-reads 20]`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "restarts":
		err = restarts(os.Args[2:], os.Stdout)
	case "peers":
		err = peers(os.Args[2:], os.Stdout)
	case "resource-server":
		err = resourceServer(os.Stdin, os.Stdout)
	case "records":
		err = recordsBench(os.Args[2:], os.Stdout)
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
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
	if err := checkStarts(*n, *every); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d client starts, one every %s of sandbox time (%s in all)\n\n", *n, *every, time.Duration(*n)*(*every))
	fmt.Fprintln(out, "| store | client_credentials logins | refresh_token grants | refresh tokens minted | wall time |")
	fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: |")
	for _, withStore := range []bool{false, true} {
		name := "none (memory only)"
		if withStore {
			name = "file store"
		}
		counts, err := simulate(*n, *every, caspioStart(withStore))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "| %s | %d | %d | %d | %s |\n", name, counts.Logins, counts.Refreshes, counts.Minted, counts.Wall.Round(time.Millisecond))
	}
	return nil
}

func checkStarts(n int, every time.Duration) error {
	if n < 1 || n > 100_000 {
		return fmt.Errorf("%d starts: give from 1 to 100000", n)
	}
	if every <= 0 {
		return fmt.Errorf("every %s: give a positive duration, such as 1h", every)
	}
	return nil
}

// restartCounts is what the sandbox counted over the simulated starts.
type restartCounts struct {
	Logins    int // client_credentials requests
	Refreshes int // refresh_token requests
	Minted    int // refresh tokens minted
	Wall      time.Duration
}

// startFunc is one program start: a new client that gets a token from the sandbox at url.
// dir is a folder that survives the starts, for a token file.
type startFunc func(ctx context.Context, box *sandbox.Server, url, dir string) error

// caspioStart starts caspio-auth's Go client, with a FileStore or with none.
func caspioStart(withStore bool) startFunc {
	return func(ctx context.Context, box *sandbox.Server, url, dir string) error {
		opts := client.Options{Now: box.Now}
		if withStore {
			opts.Store = client.NewFileStore(filepath.Join(dir, "token.json"))
		}
		c, err := client.New(caspio.Config{IntegrationURL: url, ClientID: sandbox.DefaultClientID, ClientSecret: caspio.NewSecret(sandbox.DefaultClientSecret)}, opts)
		if err != nil {
			return err
		}
		_, err = c.Token(ctx)
		return err
	}
}

// simulate runs n starts, every apart on the sandbox clock, against a fresh sandbox and
// returns what the sandbox counted.
func simulate(n int, every time.Duration, start startFunc) (restartCounts, error) {
	box := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(box)
	defer srv.Close()
	dir, err := os.MkdirTemp("", "caspio-bench-")
	if err != nil {
		return restartCounts{}, err
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	began := time.Now()
	for i := 0; i < n; i++ {
		if err := start(ctx, box, srv.URL, dir); err != nil {
			return restartCounts{}, fmt.Errorf("start %d: %w", i+1, err)
		}
		box.Advance(every)
	}
	wall := time.Since(began)
	stats := box.Stats()
	return restartCounts{
		Logins: stats.TokenRequests["client_credentials"], Refreshes: stats.TokenRequests["refresh_token"],
		Minted: stats.RefreshTokensMinted, Wall: wall,
	}, nil
}
