package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/client"
	"github.com/caspio-auth/caspio/sandbox"
)

// The variants of the Go peer figures; the IDs are what tests/bench/report.mjs reads.
var (
	goPlain  = variant{ID: "go-plain", Name: "plain requests, fixed Authorization header (the limit)"}
	caspioGo = variant{ID: "caspio-go", Name: "caspio-auth, Go client"}
	xOAuth2  = variant{ID: "x-oauth2", Name: "golang.org/x/oauth2, clientcredentials"}
)

type variant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// goPeerResults is the JSON that peers -json writes.
type goPeerResults struct {
	Bench       string          `json:"bench"` // "peers-go"
	Runtime     string          `json:"runtime"`
	CPUs        int             `json:"cpus"`
	Date        string          `json:"date"`
	XOAuth2     string          `json:"xOAuth2Version"` // the golang.org/x/oauth2 module built in
	CPU         cpuFigures      `json:"cpu"`
	ColdCallers coldFigures     `json:"coldCallers"`
	Restarts    restartsFigures `json:"restarts"`
}

type cpuFigures struct {
	Requests    int          `json:"requests"`
	Concurrency int          `json:"concurrency"`
	Rounds      int          `json:"rounds"`
	Warmup      int          `json:"warmup"`
	Variants    []cpuVariant `json:"variants"`
}

type cpuVariant struct {
	variant
	SamplesUS []float64 `json:"samplesUs"` // CPU per request of each round
	MedianUS  float64   `json:"medianUs"`
}

type coldFigures struct {
	Callers  int           `json:"callers"`
	Variants []coldVariant `json:"variants"`
}

type coldVariant struct {
	variant
	TokenRequests int `json:"tokenRequests"` // of either grant, as the sandbox counted them
	Logins        int `json:"logins"`        // client_credentials requests
}

type restartsFigures struct {
	Starts   int              `json:"starts"`
	Every    string           `json:"every"`
	Variants []restartVariant `json:"variants"`
}

type restartVariant struct {
	variant
	Store     string  `json:"store"`
	Logins    int     `json:"logins"`
	Refreshes int     `json:"refreshes"`
	Minted    int     `json:"refreshMinted"`
	WallMS    float64 `json:"wallMs"`
}

func peers(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("peers", flag.ContinueOnError)
	requests := fs.Int("requests", 5000, "requests per round of the CPU figure")
	concurrency := fs.Int("concurrency", 50, "requests in flight at once in the CPU figure")
	rounds := fs.Int("rounds", 5, "rounds of the CPU figure; the variants take turns, and the median counts")
	callers := fs.Int("callers", 1000, "concurrent cold callers of a fresh client")
	starts := fs.Int("starts", 720, "program starts, one every simulated hour")
	jsonPath := fs.String("json", "", "also write the figures as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *requests < 100 || *requests > 100_000:
		return fmt.Errorf("-requests %d: give from 100 to 100000", *requests)
	case *concurrency < 1 || *concurrency > 500:
		return fmt.Errorf("-concurrency %d: give from 1 to 500", *concurrency)
	case *rounds < 1 || *rounds > 50:
		return fmt.Errorf("-rounds %d: give from 1 to 50", *rounds)
	case *callers < 1 || *callers > 5000:
		return fmt.Errorf("-callers %d: give from 1 to 5000", *callers)
	}
	if err := checkStarts(*starts, time.Hour); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	res := goPeerResults{
		Bench: "peers-go", Runtime: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		CPUs: runtime.NumCPU(), Date: time.Now().UTC().Format(time.RFC3339), XOAuth2: moduleVersion("golang.org/x/oauth2"),
	}
	var err error
	if res.CPU, err = cpuPerRequest(ctx, *requests, *concurrency, *rounds); err != nil {
		return fmt.Errorf("CPU per request: %w", err)
	}
	if res.ColdCallers, err = coldCallers(ctx, *callers); err != nil {
		return fmt.Errorf("cold callers: %w", err)
	}
	if res.Restarts, err = peerRestarts(*starts, time.Hour); err != nil {
		return fmt.Errorf("restarts: %w", err)
	}
	printPeers(out, res)
	if *jsonPath == "" {
		return nil
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*jsonPath), 0o755); err != nil {
		return err
	}
	return os.WriteFile(*jsonPath, append(data, '\n'), 0o644)
}

// moduleVersion is the version of the module at path that this program was built with.
func moduleVersion(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == path {
				return m.Version
			}
		}
	}
	return "(unknown)"
}

func printPeers(out io.Writer, res goPeerResults) {
	c := res.CPU
	fmt.Fprintf(out, "%s, %d CPUs, golang.org/x/oauth2 %s\n\n", res.Runtime, res.CPUs, res.XOAuth2)
	fmt.Fprintf(out, "CPU per request: %d requests at concurrency %d, %d rounds taking turns (after %d warm-up requests each); the resource server runs in another process\n\n",
		c.Requests, c.Concurrency, c.Rounds, c.Warmup)
	fmt.Fprintln(out, "| variant | CPU per request (median) | x the limit | rounds (µs) |")
	fmt.Fprintln(out, "| --- | ---: | ---: | --- |")
	limit := c.Variants[0].MedianUS
	for _, v := range c.Variants {
		rounds := make([]string, len(v.SamplesUS))
		for i, s := range v.SamplesUS {
			rounds[i] = fmt.Sprintf("%.1f", s)
		}
		fmt.Fprintf(out, "| %s | %.1f µs | %.2f | %s |\n", v.Name, v.MedianUS, v.MedianUS/limit, strings.Join(rounds, ", "))
	}
	fmt.Fprintf(out, "\nToken requests for %d concurrent cold callers (each a resource request on a fresh client)\n\n", res.ColdCallers.Callers)
	fmt.Fprintln(out, "| variant | token requests | of which logins |")
	fmt.Fprintln(out, "| --- | ---: | ---: |")
	for _, v := range res.ColdCallers.Variants {
		fmt.Fprintf(out, "| %s | %d | %d |\n", v.Name, v.TokenRequests, v.Logins)
	}
	r := res.Restarts
	fmt.Fprintf(out, "\n%d program starts, one every %s of sandbox time, each a new client that gets a token\n\n", r.Starts, r.Every)
	fmt.Fprintln(out, "| variant | store | logins | refreshes | refresh tokens minted | wall time |")
	fmt.Fprintln(out, "| --- | --- | ---: | ---: | ---: | ---: |")
	for _, v := range r.Variants {
		fmt.Fprintf(out, "| %s | %s | %d | %d | %d | %.0f ms |\n", v.Name, v.Store, v.Logins, v.Refreshes, v.Minted, v.WallMS)
	}
}

// transport is a fresh keep-alive transport that keeps as many idle connections as there
// are requests in flight, so that no variant pays for reconnecting (http.DefaultTransport
// keeps 2 per host).
func transport(inFlight int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = inFlight
	t.MaxIdleConns = max(inFlight, 100)
	return t
}

func credentials(tokenURL string) *clientcredentials.Config {
	return &clientcredentials.Config{
		ClientID: sandbox.DefaultClientID, ClientSecret: sandbox.DefaultClientSecret,
		TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams,
	}
}

// drain reads and closes a response, and fails on any status but 200.
func drain(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// senders returns, for each variant, a function that makes one authenticated GET of the
// table list: tokens from tokenURL, resources under resourceBase.
func senders(ctx context.Context, tokenURL, resourceBase string, inFlight int) (map[string]func() error, error) {
	plainClient := &http.Client{Transport: transport(inFlight)}
	tok, err := credentials(tokenURL).Token(context.WithValue(ctx, oauth2.HTTPClient, plainClient))
	if err != nil {
		return nil, err
	}
	authorization := "Bearer " + tok.AccessToken

	c, err := client.New(caspio.Config{
		TokenURL: tokenURL, ResourceURL: resourceBase,
		ClientID: sandbox.DefaultClientID, ClientSecret: caspio.NewSecret(sandbox.DefaultClientSecret),
	}, client.Options{HTTPClient: &http.Client{Transport: transport(inFlight)}})
	if err != nil {
		return nil, err
	}
	oauthClient := credentials(tokenURL).Client(context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: transport(inFlight)}))

	tables := resourceBase + "/tables"
	get := func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, tables, nil)
		if err == nil {
			req.Header.Set("Accept", "application/json")
		}
		return req, err
	}
	return map[string]func() error{
		goPlain.ID: func() error {
			req, err := get()
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", authorization)
			return drain(plainClient.Do(req))
		},
		caspioGo.ID: func() error {
			req, err := c.NewRequest(ctx, http.MethodGet, "tables", nil)
			if err != nil {
				return err
			}
			return drain(c.Do(req))
		},
		xOAuth2.ID: func() error {
			req, err := get()
			if err != nil {
				return err
			}
			return drain(oauthClient.Do(req))
		},
	}, nil
}

// load sends n requests, inFlight at a time, and returns the first error.
func load(n, inFlight int, send func() error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range min(inFlight, n) {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := send(); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n)) // the others stop after their current request
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// cpuPerRequest measures the CPU of this process per request, for each variant, while
// requests go to a resource server in a child process on loopback (its CPU is its own).
func cpuPerRequest(ctx context.Context, requests, concurrency, rounds int) (cpuFigures, error) {
	resourceURL, stop, err := startResourceServer()
	if err != nil {
		return cpuFigures{}, err
	}
	defer stop()
	box := httptest.NewServer(sandbox.New(sandbox.Options{}))
	defer box.Close()

	send, err := senders(ctx, box.URL+"/oauth/token", resourceURL+"/rest/v2", concurrency)
	if err != nil {
		return cpuFigures{}, err
	}
	variants := []variant{goPlain, caspioGo, xOAuth2}
	figures := cpuFigures{Requests: requests, Concurrency: concurrency, Rounds: rounds, Warmup: min(1000, requests)}
	for _, v := range variants {
		if err := load(figures.Warmup, concurrency, send[v.ID]); err != nil {
			return cpuFigures{}, fmt.Errorf("%s: %w", v.Name, err)
		}
	}
	samples := map[string][]float64{}
	for r := range rounds {
		order := slices.Clone(variants)
		if r%2 == 1 {
			slices.Reverse(order) // so that no variant always follows the same one
		}
		for _, v := range order {
			runtime.GC() // each round starts without another variant's garbage
			before, err := processCPU()
			if err != nil {
				return cpuFigures{}, err
			}
			if err := load(requests, concurrency, send[v.ID]); err != nil {
				return cpuFigures{}, fmt.Errorf("%s: %w", v.Name, err)
			}
			after, err := processCPU()
			if err != nil {
				return cpuFigures{}, err
			}
			samples[v.ID] = append(samples[v.ID], float64((after-before).Nanoseconds())/1000/float64(requests))
		}
	}
	for _, v := range variants {
		figures.Variants = append(figures.Variants, cpuVariant{variant: v, SamplesUS: samples[v.ID], MedianUS: median(samples[v.ID])})
	}
	return figures, nil
}

func median(xs []float64) float64 {
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
}

// startResourceServer runs this program's resource-server in a child process and returns
// its URL and the function that stops it.
func startResourceServer() (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "resource-server")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		_ = stdin.Close() // the child stops when its stdin closes
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		_ = cmd.Process.Kill()
		stop()
		return "", nil, fmt.Errorf("resource server said %q: %v", line, err)
	}
	return url, stop, nil
}

// coldCallers starts callers goroutines at once on a fresh client of each kind, each making
// one authenticated request to a fresh sandbox, and counts the token requests the sandbox
// saw.
func coldCallers(ctx context.Context, callers int) (coldFigures, error) {
	figures := coldFigures{Callers: callers}
	clients := []struct {
		variant
		// client makes a fresh client for the sandbox at url and returns its caller: one
		// authenticated GET of the table list.
		client func(url string) (func() error, error)
	}{
		{caspioGo, func(url string) (func() error, error) {
			c, err := client.New(caspio.Config{IntegrationURL: url, ClientID: sandbox.DefaultClientID, ClientSecret: caspio.NewSecret(sandbox.DefaultClientSecret)},
				client.Options{HTTPClient: &http.Client{Transport: transport(callers)}})
			if err != nil {
				return nil, err
			}
			return func() error {
				req, err := c.NewRequest(ctx, http.MethodGet, "tables", nil)
				if err != nil {
					return err
				}
				return drain(c.Do(req))
			}, nil
		}},
		{xOAuth2, func(url string) (func() error, error) {
			hc := credentials(url + "/oauth/token").Client(context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: transport(callers)}))
			return func() error {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/rest/v2/tables", nil)
				if err != nil {
					return err
				}
				req.Header.Set("Accept", "application/json")
				return drain(hc.Do(req))
			}, nil
		}},
	}
	for _, kind := range clients {
		box := sandbox.New(sandbox.Options{})
		srv := httptest.NewServer(box)
		send, err := kind.client(srv.URL)
		if err != nil {
			srv.Close()
			return coldFigures{}, err
		}
		start := make(chan struct{})
		errs := make(chan error, callers)
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				<-start
				errs <- send()
			})
		}
		close(start)
		wg.Wait()
		srv.Close()
		close(errs)
		var failed []error
		for err := range errs {
			if err != nil {
				failed = append(failed, err)
			}
		}
		if len(failed) > 0 {
			return coldFigures{}, fmt.Errorf("%s: %d of %d callers failed: %w", kind.Name, len(failed), callers, errors.Join(failed[:min(3, len(failed))]...))
		}
		stats := box.Stats()
		logins := stats.TokenRequests["client_credentials"]
		figures.Variants = append(figures.Variants, coldVariant{variant: kind.variant, TokenRequests: logins + stats.TokenRequests["refresh_token"], Logins: logins})
	}
	return figures, nil
}

// xOAuth2Start is a program start with golang.org/x/oauth2: it has no token store, so a
// new process has no token.
func xOAuth2Start(ctx context.Context, _ *sandbox.Server, url, _ string) error {
	_, err := credentials(url + "/oauth/token").TokenSource(ctx).Token()
	return err
}

func peerRestarts(starts int, every time.Duration) (restartsFigures, error) {
	figures := restartsFigures{Starts: starts, Every: every.String()}
	for _, run := range []struct {
		variant
		store string
		start startFunc
	}{
		{caspioGo, "client.NewFileStore", caspioStart(true)},
		{xOAuth2, "none (it has no token store)", xOAuth2Start},
	} {
		counts, err := simulate(starts, every, run.start)
		if err != nil {
			return restartsFigures{}, fmt.Errorf("%s: %w", run.Name, err)
		}
		figures.Variants = append(figures.Variants, restartVariant{
			variant: run.variant, Store: run.store, Logins: counts.Logins, Refreshes: counts.Refreshes,
			Minted: counts.Minted, WallMS: float64(counts.Wall.Microseconds()) / 1000,
		})
	}
	return figures, nil
}
