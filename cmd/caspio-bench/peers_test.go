package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMain lets the test binary stand in for caspio-bench as the resource server's child
// process, which peers starts from its own executable.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "resource-server" {
		if err := resourceServer(os.Stdin, os.Stdout); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestPeers runs the peer figures with small counts and checks what the sandbox must have
// counted: the figures are only worth printing if each variant did what it says.
func TestPeers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peers-go.json")
	require.NoError(t, peers([]string{"-requests", "100", "-concurrency", "10", "-rounds", "2", "-callers", "50", "-starts", "30", "-json", path}, io.Discard))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var res goPeerResults
	require.NoError(t, json.Unmarshal(data, &res))

	require.Equal(t, "peers-go", res.Bench)
	require.Len(t, res.CPU.Variants, 3)
	for _, v := range res.CPU.Variants {
		require.Len(t, v.SamplesUS, 2, v.ID)
		require.Positive(t, v.MedianUS, v.ID)
	}

	cold := map[string]coldVariant{}
	for _, v := range res.ColdCallers.Variants {
		cold[v.ID] = v
	}
	require.Equal(t, 1, cold["caspio-go"].TokenRequests, "caspio-auth shares one login among cold callers")
	require.Equal(t, 1, cold["x-oauth2"].TokenRequests, "ReuseTokenSource holds its lock while it gets a token")

	restarts := map[string]restartVariant{}
	for _, v := range res.Restarts.Variants {
		restarts[v.ID] = v
	}
	// 30 starts an hour apart: the stored token is refreshed once, at the 24th hour.
	require.Equal(t, 1, restarts["caspio-go"].Logins)
	require.Equal(t, 1, restarts["caspio-go"].Refreshes)
	require.Equal(t, 30, restarts["x-oauth2"].Logins, "x/oauth2 keeps no token across starts")
}

func TestPeersRefusesBadCounts(t *testing.T) {
	for name, args := range map[string][]string{
		"too few requests": {"-requests", "10"},
		"no concurrency":   {"-concurrency", "0"},
		"no rounds":        {"-rounds", "0"},
		"too many callers": {"-callers", "100000"},
		"no starts":        {"-starts", "0"},
	} {
		t.Run(name, func(t *testing.T) {
			require.Error(t, peers(args, io.Discard))
		})
	}
}

func TestLoadStopsAtTheFirstError(t *testing.T) {
	stop := errors.New("third request failed")
	sent := 0
	err := load(1000, 1, func() error {
		sent++
		if sent == 3 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, 3, sent)
}
