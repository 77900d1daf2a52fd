// Command caspio-demo shows caspio-auth at work against the Caspio sandbox: it logs in,
// lists tables, pages through records, lets the access token expire on the server and
// shows the refresh, then restarts with the same token file and shows that no new login
// happens. It prints each step and exits.
//
//	go run ./cmd/caspio-demo              # starts a sandbox of its own on 127.0.0.1
//	go run ./cmd/caspio-demo -url URL     # uses a running `go run ./cmd/caspio-sandbox`
//	go run ./cmd/caspio-demo -serve       # then serves the admin page (see serve.go)
//
// With -serve it runs the walkthrough against a sandbox on one loopback origin
// (-addr, default 127.0.0.1:8080 or a free port if that one is busy) that also serves the
// admin page of web/ and the npm package's browser files of js/, prints
// "admin page at http://HOST:PORT/" and serves until SIGINT or SIGTERM.
//
// The same code runs against a real account: give caspio.Config your Account, Client ID
// and Secret instead of the sandbox's URL, and leave out the sandbox's clock.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/sandbox"
)

func main() {
	// SIGINT and SIGTERM end the serving of -serve; the walkthrough alone exits by itself.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "caspio-demo:", err)
		os.Exit(1)
	}
}

// run is main without the process: it runs the walkthrough and, with -serve, serves the
// admin page until ctx ends.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("caspio-demo", flag.ContinueOnError)
	url := fs.String("url", "", "URL of a running caspio-sandbox (default: start one on 127.0.0.1)")
	id := fs.String("client-id", sandbox.DefaultClientID, "client ID the sandbox accepts")
	secret := fs.String("client-secret", sandbox.DefaultClientSecret, "client secret the sandbox accepts")
	serve := fs.Bool("serve", false, "after the walkthrough, serve the admin page, the sandbox and caspio-auth on one origin until interrupted")
	addr := fs.String("addr", defaultAddr, "with -serve: the loopback address to serve on (the default falls back to a free port when busy; port 0 picks one)")
	webDir := fs.String("web", "web", "with -serve: the folder of the admin page")
	jsDir := fs.String("js", "js", "with -serve: the folder of the npm package caspio-auth, with caspio.wasm built by ./build.sh")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; all options are flags (see -h)", fs.Arg(0))
	}
	if !*serve {
		return walkthrough(ctx, *url, *id, *secret, out)
	}
	addrGiven := false
	fs.Visit(func(f *flag.Flag) { addrGiven = addrGiven || f.Name == "addr" })
	return serveDemo(ctx, demoOptions{
		addr: *addr, fallback: !addrGiven, webDir: *webDir, jsDir: *jsDir,
		clientID: *id, clientSecret: *secret, walkthroughURL: *url,
	}, out)
}

// walkthrough runs the steps against the sandbox at url, or against one of its own when
// url is empty, and returns when they are done.
func walkthrough(parent context.Context, url, id, secret string, out io.Writer) error {
	ctx, cancel := context.WithTimeout(parent, 2*time.Minute)
	defer cancel()

	if url == "" {
		stop, started, err := startSandbox(id, secret)
		if err != nil {
			return err
		}
		defer stop()
		url = started
	}
	fmt.Fprintf(out, "Caspio sandbox at %s (client ID %s)\n\n", url, id)

	dir, err := os.MkdirTemp("", "caspio-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tokenFile := filepath.Join(dir, "token.json")

	cfg := caspio.Config{IntegrationURL: url, ClientID: id, ClientSecret: caspio.NewSecret(secret)}
	c, err := newClient(cfg, tokenFile, out)
	if err != nil {
		return err
	}

	step(out, 1, "Authenticate with the client ID and secret")
	tok, err := c.Token(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "   access token %s (never printed), refreshed from %s on\n", tok.AccessToken, tok.ValidUntil.Format(time.RFC3339))

	step(out, 2, "List the tables")
	var tables struct{ Result []string }
	if err := getJSON(ctx, c, "tables", &tables); err != nil {
		return err
	}
	fmt.Fprintf(out, "   %s\n", strings.Join(tables.Result, ", "))

	step(out, 3, "Page through the Orders table, 1,000 records a page")
	total := 0
	for page := 1; page <= 100; page++ {
		var records struct{ Result []map[string]any }
		path := fmt.Sprintf("tables/Orders/records?q.pageSize=1000&q.pageNumber=%d&q.orderBy=PK_ID", page)
		if err := getJSON(ctx, c, path, &records); err != nil {
			return err
		}
		total += len(records.Result)
		fmt.Fprintf(out, "   page %d: %d records\n", page, len(records.Result))
		if len(records.Result) < 1000 {
			break
		}
	}
	fmt.Fprintf(out, "   %d orders in all\n", total)

	step(out, 4, "Advance the sandbox clock 25 hours: the access token expires on the server")
	if err := advanceClock(ctx, url, "25h"); err != nil {
		return err
	}

	step(out, 5, "List the tables again: the server answers 401, the client refreshes and retries")
	if err := getJSON(ctx, c, "tables", &tables); err != nil {
		return err
	}
	fmt.Fprintf(out, "   %s\n", strings.Join(tables.Result, ", "))

	step(out, 6, "Restart: a new client with the same token file reuses the stored tokens")
	restarted, err := newClient(cfg, tokenFile, out)
	if err != nil {
		return err
	}
	if err := getJSON(ctx, restarted, "tables/Customers/records?q.limit=3&q.select=Name,City", &records3{}); err != nil {
		return err
	}
	fmt.Fprintln(out, "   read 3 customers without logging in")

	stats, err := sandboxStats(ctx, url)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nThe sandbox saw %d client_credentials and %d refresh_token requests; %d refresh token minted of the account's 1,000.\n",
		stats.TokenRequests["client_credentials"], stats.TokenRequests["refresh_token"], stats.RefreshTokensMinted)
	return nil
}

type records3 struct{ Result []map[string]any }

func newClient(cfg caspio.Config, tokenFile string, out io.Writer) (*client.Client, error) {
	return client.New(cfg, client.Options{
		Store: client.NewFileStore(tokenFile),
		OnEvent: func(e client.Event) {
			switch e.Kind {
			case client.EventTokenRequest:
				fmt.Fprintf(out, "   -> token request: grant_type=%s\n", e.Grant)
			case client.EventLogin, client.EventRefresh:
				fmt.Fprintf(out, "   <- %s: new access token, valid for %s\n", e.Kind, time.Until(e.ExpiresAt).Round(time.Second))
			case client.EventRevoked:
				fmt.Fprintln(out, "   <- 401 from the API: the access token is dropped")
			case client.EventTokenError, client.EventRetry, client.EventStoreError, client.EventStateDiscarded:
				fmt.Fprintf(out, "   !! %s: %v\n", e.Kind, e.Err)
			}
		},
	})
}

func step(out io.Writer, n int, what string) { fmt.Fprintf(out, "%d. %s\n", n, what) }

func getJSON(ctx context.Context, c *client.Client, path string, into any) error {
	req, err := c.NewRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return client.APIErrorFromResponse(resp)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

// startSandbox serves a sandbox on a free loopback port until stop is called.
func startSandbox(id, secret string) (stop func(), url string, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: sandbox.New(sandbox.Options{ClientID: id, ClientSecret: secret}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, "http://" + ln.Addr().String(), nil
}

// advanceClock moves the sandbox's clock through its control API, as a test would.
func advanceClock(ctx context.Context, url, by string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/__sandbox/clock?advance="+by, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New("sandbox clock: " + resp.Status)
	}
	return nil
}

func sandboxStats(ctx context.Context, url string) (sandbox.Stats, error) {
	var stats sandbox.Stats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/__sandbox/stats", nil)
	if err != nil {
		return stats, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return stats, err
	}
	defer resp.Body.Close()
	return stats, json.NewDecoder(resp.Body).Decode(&stats)
}
