// Command caspio-sandbox runs the Caspio emulator of package sandbox on a local port.
//
//	go run ./cmd/caspio-sandbox [-addr 127.0.0.1:0] [-client-id ID] [-client-secret SECRET]
//	    [-token-ttl 86399s] [-rotate-refresh] [-refresh-cap 1000] [-allow-remote] [-v]
//
// Its first line on stdout is "listening on http://HOST:PORT", with the port actually
// bound, so that a test harness can start it on port 0 and read where it is. It serves
// until SIGINT or SIGTERM, then shuts down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/caspio-auth/caspio/sandbox"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process exit: 0 after a clean shutdown, 1 on a serving
// error, 2 on bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("caspio-sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on (port 0 picks a free port)")
	clientID := fs.String("client-id", sandbox.DefaultClientID, "the client ID the token endpoint accepts")
	clientSecret := fs.String("client-secret", sandbox.DefaultClientSecret, "the client secret the token endpoint accepts")
	tokenTTL := fs.Duration("token-ttl", 86399*time.Second, "access token lifetime")
	rotate := fs.Bool("rotate-refresh", false, "return a new refresh token on each refresh and retire the old one")
	refreshCap := fs.Int("refresh-cap", 1000, "live refresh tokens per account; minting one more evicts the oldest")
	allowRemote := fs.Bool("allow-remote", false, "UNSAFE: allow listening on a non-loopback address (the sandbox has no real security)")
	verbose := fs.Bool("v", false, "log each request (method, path, status) to stderr; never secrets or tokens")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "caspio-sandbox: unexpected argument %q; all options are flags\n", fs.Arg(0))
		return 2
	}
	switch {
	case *tokenTTL <= 0:
		fmt.Fprintln(stderr, "caspio-sandbox: -token-ttl must be positive, such as 86399s or 2m")
		return 2
	case *refreshCap < 1:
		fmt.Fprintln(stderr, "caspio-sandbox: -refresh-cap must be 1 or more")
		return 2
	case *clientID == "" || *clientSecret == "":
		fmt.Fprintln(stderr, "caspio-sandbox: -client-id and -client-secret must not be empty")
		return 2
	}
	if err := checkLoopback(*addr); err != nil && !*allowRemote {
		fmt.Fprintf(stderr, "caspio-sandbox: %v; the sandbox accepts any caller of its control API, so it listens on loopback only unless -allow-remote is given\n", err)
		return 2
	}

	opts := sandbox.Options{
		ClientID:            *clientID,
		ClientSecret:        *clientSecret,
		TokenTTL:            *tokenTTL,
		RefreshTokenCap:     *refreshCap,
		RotateRefreshTokens: *rotate,
	}
	if *verbose {
		opts.Logger = log.New(stderr, "caspio-sandbox: ", log.LstdFlags)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "caspio-sandbox: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())

	srv := &http.Server{Handler: sandbox.New(opts), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		fmt.Fprintf(stderr, "caspio-sandbox: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			fmt.Fprintf(stderr, "caspio-sandbox: shutdown: %v\n", err)
			return 1
		}
		_ = srv.Close() // requests still in a long fault delay: cut them
	}
	return 0
}

// checkLoopback refuses an address whose host is not a loopback address or "localhost".
// An empty host would listen on every interface.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q is not host:port", addr)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-addr %q is not a loopback address (use 127.0.0.1, [::1] or localhost)", addr)
}
