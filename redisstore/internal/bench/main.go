// Command bench measures what BENCHMARKS.md records of the Redis store, beside the file
// store and no store: logins over 720 hourly restarts against the sandbox, the cost of one
// Redis-backed acquisition (a new client adopting the token another process stored: one
// read, no lock, no token request) and of the warm path (a token in memory: no Redis
// command at all, counted with INFO commandstats). It starts its own redis-server
// (redis-server must be on PATH) on a free loopback port without persistence, and stops it.
//
//	cd redisstore && go run ./internal/bench [-n 720] [-every 1h] [-acquisitions 2000]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/redisstore"
	"github.com/caspio-auth/caspio/sandbox"
	"github.com/redis/go-redis/v9"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	n := fs.Int("n", 720, "how many times the program starts")
	every := fs.Duration("every", time.Hour, "simulated time between starts")
	acquisitions := fs.Int("acquisitions", 2000, "Redis-backed acquisitions to time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *n > 100_000 || *every <= 0 || *acquisitions < 1 || *acquisitions > 1_000_000 {
		return errors.New("give -n from 1 to 100000, a positive -every and -acquisitions from 1 to 1000000")
	}
	addr, stop, err := startRedis()
	if err != nil {
		return err
	}
	defer stop()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()

	fmt.Fprintf(out, "%d client starts, one every %s of sandbox time (%s in all)\n\n", *n, *every, time.Duration(*n)*(*every))
	fmt.Fprintln(out, "| store | client_credentials logins | refresh_token grants | refresh tokens minted | wall time |")
	fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: |")
	dir, err := os.MkdirTemp("", "caspio-redis-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, row := range []struct {
		name  string
		store func() client.Store
	}{
		{"none (memory only)", func() client.Store { return nil }},
		{"file store", func() client.Store { return client.NewFileStore(filepath.Join(dir, "token.json")) }},
		{"Redis store", func() client.Store { return redisstore.New(rdb, "bench-restarts") }},
	} {
		box := sandbox.New(sandbox.Options{})
		srv := httptest.NewServer(box)
		began := time.Now()
		for s := 0; s < *n; s++ {
			c, err := newClient(srv.URL, box, row.store())
			if err == nil {
				_, err = c.Token(context.Background())
			}
			if err != nil {
				srv.Close()
				return fmt.Errorf("%s, start %d: %w", row.name, s+1, err)
			}
			box.Advance(*every)
		}
		st := box.Stats()
		srv.Close()
		fmt.Fprintf(out, "| %s | %d | %d | %d | %s |\n", row.name, st.TokenRequests["client_credentials"], st.TokenRequests["refresh_token"], st.RefreshTokensMinted, time.Since(began).Round(time.Millisecond))
	}

	// One Redis-backed acquisition: a new client whose first Token adopts the token stored
	// by another (GET, no lock, no token request); and the warm path.
	box := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(box)
	defer srv.Close()
	first, err := newClient(srv.URL, box, redisstore.New(rdb, "bench-acquire"))
	if err != nil {
		return err
	}
	if _, err := first.Token(context.Background()); err != nil {
		return err
	}
	ctx := context.Background()
	rdb.ConfigResetStat(ctx)
	began := time.Now()
	for i := 0; i < *acquisitions; i++ {
		c, err := newClient(srv.URL, box, redisstore.New(rdb, "bench-acquire"))
		if err != nil {
			return err
		}
		if _, err := c.Token(ctx); err != nil {
			return err
		}
	}
	perAcquisition := time.Since(began) / time.Duration(*acquisitions)
	acquireCommands := commands(ctx, rdb)
	rdb.ConfigResetStat(ctx)
	const warm = 200_000
	began = time.Now()
	for i := 0; i < warm; i++ {
		if _, err := first.Token(ctx); err != nil {
			return err
		}
	}
	perWarm := time.Since(began) / warm
	warmCommands := commands(ctx, rdb)
	logins := box.Stats().TokenRequests["client_credentials"]
	// A refresh through the lock: SET NX, GET, the token request to the sandbox on loopback,
	// the save script and the release script.
	const refreshes = 200
	rdb.ConfigResetStat(ctx)
	began = time.Now()
	for i := 0; i < refreshes; i++ {
		if _, err := first.Refresh(ctx); err != nil {
			return err
		}
	}
	perRefresh := time.Since(began) / refreshes
	refreshCommands := commands(ctx, rdb)
	fmt.Fprintf(out, "\n| Redis-backed token | time per call | Redis commands per call | token requests |\n| --- | ---: | ---: | ---: |\n")
	fmt.Fprintf(out, "| acquisition by a new client (token stored by another) | %s | %s | %d in %d acquisitions |\n", perAcquisition.Round(time.Microsecond), perCall(acquireCommands, *acquisitions), logins-1, *acquisitions)
	fmt.Fprintf(out, "| refresh under the lock (the token request to the sandbox on loopback included) | %s | %s | 1 per refresh |\n", perRefresh.Round(time.Microsecond), perCall(refreshCommands, refreshes))
	fmt.Fprintf(out, "| warm path (token in memory) | %d ns | %s | 0 |\n", perWarm.Nanoseconds(), perCall(warmCommands, warm))
	if warmCommands != 0 {
		return fmt.Errorf("the warm path sent %d commands to Redis", warmCommands)
	}
	return nil
}

func newClient(url string, box *sandbox.Server, store client.Store) (*client.Client, error) {
	return client.New(caspio.Config{IntegrationURL: url, ClientID: sandbox.DefaultClientID, ClientSecret: caspio.NewSecret(sandbox.DefaultClientSecret)},
		client.Options{Store: store, Now: box.Now})
}

func perCall(commands, calls int) string {
	return strconv.FormatFloat(float64(commands)/float64(calls), 'f', 2, 64)
}

// commands counts the commands Redis served since its stats were reset, but INFO and CONFIG.
func commands(ctx context.Context, rdb *redis.Client) int {
	total := 0
	for _, line := range strings.Split(rdb.Info(ctx, "commandstats").Val(), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "cmdstat_") || strings.HasPrefix(line, "cmdstat_info:") || strings.HasPrefix(line, "cmdstat_config") {
			continue
		}
		if _, rest, ok := strings.Cut(line, "calls="); ok {
			v, _, _ := strings.Cut(rest, ",")
			n, _ := strconv.Atoi(v)
			total += n
		}
	}
	return total
}

// startRedis starts redis-server on a free loopback port and returns the function that
// stops it by its PID.
func startRedis() (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start redis-server (install it: Debian apt-get install redis-server): %w", err)
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	addr := "127.0.0.1:" + strconv.Itoa(port)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	for i := 0; i < 200; i++ {
		if rdb.Ping(context.Background()).Err() == nil {
			return addr, stop, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	stop()
	return "", nil, errors.New("redis-server did not answer PING within 5 s")
}
