package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// build compiles the command once per test binary run into a temporary folder.
func build(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH")
	}
	bin := filepath.Join(t.TempDir(), "caspio-sandbox")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

func TestCommand(t *testing.T) {
	bin := build(t)

	t.Run("serves and shuts down on SIGTERM", func(t *testing.T) {
		var stderr bytes.Buffer
		cmd := exec.Command(bin, "-client-id", "cmd-client", "-client-secret", "cmd-secret", "-token-ttl", "2m", "-rotate-refresh", "-v")
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		stopped := false
		t.Cleanup(func() {
			// Kill only the process this test started, if it is still running.
			if !stopped {
				_ = cmd.Process.Kill()
				<-exited
			}
		})

		lines := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(stdout).ReadString('\n')
			lines <- line
		}()
		var first string
		select {
		case first = <-lines:
		case <-time.After(10 * time.Second):
			t.Fatal("no first line within 10 s")
		}
		require.Regexp(t, `^listening on http://127\.0\.0\.1:[1-9][0-9]*\n$`, first)
		base := strings.TrimSpace(strings.TrimPrefix(first, "listening on "))

		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"cmd-client"}, "client_secret": {"cmd-secret"}}
		resp, err := http.PostForm(base+"/oauth/token", form)
		require.NoError(t, err)
		var tok map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "body: %v", tok)
		assert.Equal(t, float64(120), tok["expires_in"], "-token-ttl is applied")

		resp, err = http.PostForm(base+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)},
			"client_id": {"cmd-client"}, "client_secret": {"cmd-secret"}})
		require.NoError(t, err)
		var refreshed map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&refreshed))
		resp.Body.Close()
		assert.NotEmpty(t, refreshed["refresh_token"], "-rotate-refresh is applied")

		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		select {
		case err := <-exited:
			stopped = true
			require.NoError(t, err, "a clean exit after SIGTERM; stderr: %s", stderr.String())
		case <-time.After(10 * time.Second):
			t.Fatal("still running 10 s after SIGTERM")
		}
		log := stderr.String()
		assert.Contains(t, log, "POST /oauth/token 200", "-v logs requests")
		for _, secret := range []string{"cmd-secret", tok["access_token"].(string), tok["refresh_token"].(string)} {
			assert.NotContains(t, log, secret, "the log must not hold secrets or tokens")
		}
	})

	refusals := []struct {
		name string
		args []string
		word string
	}{
		{"all interfaces", []string{"-addr", ":0"}, "loopback"},
		{"a remote address", []string{"-addr", "0.0.0.0:0"}, "-allow-remote"},
		{"a host name", []string{"-addr", "example.com:8080"}, "loopback"},
		{"no port", []string{"-addr", "127.0.0.1"}, "host:port"},
		{"bad cap", []string{"-refresh-cap", "0"}, "-refresh-cap"},
		{"bad ttl", []string{"-token-ttl", "-1s"}, "-token-ttl"},
		{"unknown flag", []string{"-port", "80"}, "-port"},
		{"stray argument", []string{"serve"}, "serve"},
	}
	for _, tc := range refusals {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, tc.args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			require.True(t, errors.As(err, &exit), "err: %v", err)
			assert.Equal(t, 2, exit.ExitCode())
			assert.Empty(t, stdout.String(), "nothing listens")
			assert.Contains(t, stderr.String(), tc.word)
		})
	}
}
