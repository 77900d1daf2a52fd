package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/caspio-auth/caspio/sandbox"
)

// defaultAddr is where -serve listens unless -addr says otherwise; when it is busy the
// demo takes a free port instead, so that `./build.sh demo` works beside another server.
const defaultAddr = "127.0.0.1:8080"

// packagePrefix is where the page imports caspio-auth from (see the import map in
// web/index.html).
const packagePrefix = "/caspio-auth/"

type demoOptions struct {
	addr     string
	fallback bool // take a free port when addr is busy
	webDir   string
	jsDir    string

	clientID, clientSecret string
	// walkthroughURL is a sandbox of the caller's for the walkthrough; empty runs the
	// walkthrough against the served sandbox.
	walkthroughURL string
}

// serveDemo serves the admin page, the sandbox and the package on one origin, runs the
// walkthrough against it and serves until ctx ends.
func serveDemo(ctx context.Context, o demoOptions, out io.Writer) error {
	sb := sandbox.New(sandbox.Options{ClientID: o.clientID, ClientSecret: o.clientSecret})
	site, err := newSite(sb, o.webDir, o.jsDir, demoConfig{ClientID: o.clientID, ClientSecret: o.clientSecret})
	if err != nil {
		return err
	}
	ln, err := listenLoopback(o.addr, o.fallback)
	if err != nil {
		return err
	}
	origin := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: site, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer srv.Close()

	url := o.walkthroughURL
	if url == "" {
		url = origin
	}
	if err := walkthrough(ctx, url, o.clientID, o.clientSecret, out); err != nil {
		return err
	}
	// The page starts from a fresh account: no tokens, zero counts, the clock at now.
	sb.Reset()
	fmt.Fprintf(out, "admin page at %s/\n", origin)
	fmt.Fprintf(out, "   the sandbox and caspio-auth are on the same origin; the form is prefilled with client ID %s.\n", o.clientID)
	fmt.Fprintln(out, "   Ctrl+C stops the server.")

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// listenLoopback listens on addr, a loopback address: the sandbox's control API and the
// config endpoint answer anyone, so they must not be reachable from the network.
func listenLoopback(addr string, fallback bool) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("-addr %q is not host:port", addr)
	}
	if !isLoopbackHost(host) {
		return nil, fmt.Errorf("-addr %q is not a loopback address (use 127.0.0.1, [::1] or localhost): the sandbox has no real security", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil && fallback && errors.Is(err, syscall.EADDRINUSE) {
		return net.Listen("tcp", net.JoinHostPort(host, "0"))
	}
	return ln, err
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// demoConfig is what GET /__demo/config.json gives the page to prefill its form. The
// sandbox's secret is no secret; a real account's would never be served like this.
type demoConfig struct {
	IntegrationURL string `json:"integrationUrl"`
	APIVersion     string `json:"apiVersion"`
	ClientID       string `json:"clientId"`
	ClientSecret   string `json:"clientSecret"`
}

// newSite routes one origin: the sandbox (token endpoint, REST API, control API), the
// package's browser files under /caspio-auth/, the demo config, and the page at /.
func newSite(sb http.Handler, webDir, jsDir string, cfg demoConfig) (http.Handler, error) {
	if _, err := os.Stat(filepath.Join(webDir, "index.html")); err != nil {
		return nil, fmt.Errorf("the admin page is missing (%v); run the demo from the repository root or pass -web DIR", err)
	}
	if _, err := os.Stat(filepath.Join(jsDir, "caspio.wasm")); err != nil {
		return nil, fmt.Errorf("%s is missing: run ./build.sh first (it builds caspio.wasm), or pass -js DIR", filepath.Join(jsDir, "caspio.wasm"))
	}
	mux := http.NewServeMux()
	for _, p := range []string{"/oauth/token", "/rest/", "/integrations/", "/__sandbox", "/__sandbox/"} {
		mux.Handle(p, sb)
	}
	mux.HandleFunc("GET /__demo/config.json", func(w http.ResponseWriter, r *http.Request) {
		c := cfg
		c.IntegrationURL = "http://" + r.Host // the same origin as the page, as the browser sees it
		c.APIVersion = "v2"
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(c)
	})
	mux.Handle(packagePrefix, http.StripPrefix(strings.TrimSuffix(packagePrefix, "/"), staticFiles(jsDir, isPackageFile)))
	mux.Handle("/", staticFiles(webDir, isPageFile))
	return loopbackOnly(mux), nil
}

// isPackageFile admits the files a browser loads from the package, and nothing in a
// subfolder (node_modules, tests) or hidden.
func isPackageFile(name string) bool {
	return !strings.Contains(name, "/") && (strings.HasSuffix(name, ".js") || strings.HasSuffix(name, ".wasm"))
}

func isPageFile(name string) bool {
	switch path.Ext(name) {
	case ".html", ".js", ".css", ".svg", ".png", ".ico", ".webmanifest":
		return true
	}
	return false
}

// staticFiles serves the regular files of dir that allow admits; "/" is index.html. It
// lists no folder and serves no dotfile.
func staticFiles(dir string, allow func(name string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name == "" {
			name = "index.html"
		}
		if !allow(name) || strings.HasPrefix(name, ".") || strings.Contains(name, "/.") {
			http.NotFound(w, r)
			return
		}
		file := filepath.Join(dir, filepath.FromSlash(name))
		if info, err := os.Stat(file); err != nil || !info.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		if strings.HasSuffix(name, ".wasm") {
			h.Set("Content-Type", "application/wasm") // for WebAssembly.compileStreaming
		}
		h.Set("Cache-Control", "no-cache") // revalidate: the files change with each build
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if strings.HasSuffix(name, ".html") {
			h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		}
		f, err := os.Open(file)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, name, info.ModTime(), f)
	})
}

// loopbackOnly refuses requests whose Host is not a loopback name, so that a web page
// elsewhere cannot reach the demo through DNS rebinding.
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if !isLoopbackHost(host) {
			http.Error(w, "the demo answers loopback host names only (127.0.0.1, localhost, [::1])", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}
