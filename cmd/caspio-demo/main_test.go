package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caspio-auth/caspio/sandbox"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeTree makes a web/ and a js/ folder with the files -serve needs, and a few it must not
// serve.
func fakeTree(t *testing.T) (webDir, jsDir string) {
	t.Helper()
	root := t.TempDir()
	webDir, jsDir = filepath.Join(root, "web"), filepath.Join(root, "js")
	files := map[string]string{
		"web/index.html":               "<!doctype html><title>admin</title>",
		"web/app.js":                   "export {};",
		"web/.secret":                  "hidden",
		"web/notes.txt":                "not a page file",
		"js/browser.js":                "export const x = 1;",
		"js/caspio.wasm":               "\x00asm\x01\x00\x00\x00",
		"js/package.json":              "{}",
		"js/node_modules/dep/index.js": "nope",
	}
	for name, body := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	}
	return webDir, jsDir
}

func TestSiteRoutes(t *testing.T) {
	webDir, jsDir := fakeTree(t)
	site, err := newSite(sandbox.New(sandbox.Options{}), webDir, jsDir, demoConfig{ClientID: "id-1", ClientSecret: "secret-1"})
	require.NoError(t, err)
	srv := httptest.NewServer(site)
	defer srv.Close()

	cases := []struct {
		name, method, path string
		status             int
		contentType        string // prefix
		body               string // substring
	}{
		{"the page at /", "GET", "/", 200, "text/html", "<title>admin</title>"},
		{"a page module", "GET", "/app.js", 200, "text/javascript", "export {}"},
		{"the package's browser entry", "GET", "/caspio-auth/browser.js", 200, "text/javascript", "export const x"},
		{"caspio.wasm as application/wasm", "GET", "/caspio-auth/caspio.wasm", 200, "application/wasm", "asm"},
		{"no package file but .js and .wasm", "GET", "/caspio-auth/package.json", 404, "", ""},
		{"nothing in a package subfolder", "GET", "/caspio-auth/node_modules/dep/index.js", 404, "", ""},
		{"no dotfile", "GET", "/.secret", 404, "", ""},
		{"no other file type", "GET", "/notes.txt", 404, "", ""},
		{"no climbing out", "GET", "/../js/caspio.wasm", 404, "", ""},
		{"static files are read-only", "POST", "/", 405, "", ""},
		{"the token endpoint", "POST", "/oauth/token", 400, "application/json", "invalid_request"},
		{"the v2 REST API", "GET", "/rest/v2/tables", 401, "application/json", `"Code":"Unauthorized"`},
		{"the v3 REST API", "GET", "/integrations/rest/v3/tables", 401, "application/json", `"Code":"Unauthorized"`},
		{"the control API", "GET", "/__sandbox/stats", 200, "application/json", "token_requests"},
		{"the control API's index", "GET", "/__sandbox", 200, "application/json", ""},
		{"an unknown page", "GET", "/nope.html", 404, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, tc.status, resp.StatusCode, "body: %s", body)
			if tc.contentType != "" {
				assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), tc.contentType), "Content-Type %q", resp.Header.Get("Content-Type"))
			}
			assert.Contains(t, string(body), tc.body)
		})
	}

	t.Run("the config names this origin and the sandbox's credentials", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/__demo/config.json")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		var cfg demoConfig
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&cfg))
		assert.Equal(t, demoConfig{IntegrationURL: srv.URL, APIVersion: "v2", ClientID: "id-1", ClientSecret: "secret-1"}, cfg)
	})

	t.Run("a host name off loopback is refused (DNS rebinding)", func(t *testing.T) {
		req, err := http.NewRequest("GET", srv.URL+"/__demo/config.json", nil)
		require.NoError(t, err)
		req.Host = "attacker.example:80"
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode)
	})
}

func TestSiteNeedsTheBuild(t *testing.T) {
	webDir, jsDir := fakeTree(t)
	require.NoError(t, os.Remove(filepath.Join(jsDir, "caspio.wasm")))
	_, err := newSite(sandbox.New(sandbox.Options{}), webDir, jsDir, demoConfig{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "run ./build.sh")

	_, err = newSite(sandbox.New(sandbox.Options{}), filepath.Join(webDir, "missing"), jsDir, demoConfig{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-web DIR")
}

func TestListenLoopback(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()

	ln, err := listenLoopback(busy.Addr().String(), true)
	require.NoError(t, err, "the default address falls back to a free port")
	assert.NotEqual(t, busy.Addr().String(), ln.Addr().String())
	ln.Close()

	_, err = listenLoopback(busy.Addr().String(), false)
	assert.Error(t, err, "an address given with -addr does not fall back")

	_, err = listenLoopback("0.0.0.0:0", true)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a loopback address")
}

// TestServe runs the walkthrough and then serves, as `./build.sh demo` does, until its
// context ends.
func TestServe(t *testing.T) {
	webDir, jsDir := fakeTree(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-serve", "-addr", "127.0.0.1:0", "-web", webDir, "-js", jsDir}, w)
		w.Close()
	}()

	lines := bufio.NewScanner(r)
	var walkthrough []string
	var origin string
	for lines.Scan() {
		if m := regexp.MustCompile(`^admin page at (http://127\.0\.0\.1:\d+)/$`).FindStringSubmatch(lines.Text()); m != nil {
			origin = m[1]
			break
		}
		walkthrough = append(walkthrough, lines.Text())
	}
	go io.Copy(io.Discard, r)
	require.NotEmpty(t, origin, "no admin page line; output:\n%s", strings.Join(walkthrough, "\n"))
	assert.Contains(t, strings.Join(walkthrough, "\n"), "Caspio sandbox at "+origin, "the walkthrough ran against the served sandbox")
	assert.Contains(t, walkthrough[len(walkthrough)-1], "The sandbox saw", "the admin page line follows the walkthrough")

	resp, err := http.Get(origin + "/__sandbox/stats")
	require.NoError(t, err)
	var stats sandbox.Stats
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&stats))
	resp.Body.Close()
	assert.Zero(t, stats.RefreshTokensMinted, "the page starts from a reset sandbox")

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

func TestWalkthroughExits(t *testing.T) {
	var out strings.Builder
	require.NoError(t, run(context.Background(), nil, &out))
	assert.Contains(t, out.String(), "2500 orders in all")
	assert.NotContains(t, out.String(), "admin page at")
}
