//go:build js && wasm

package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/syumai/workers/cloudflare/cache"
)

// cacheAPIKeys keeps the Access team's key set in the Workers Cache API (caches.default),
// keyed by the keys' URL, since nothing in Go memory outlives a request. The Cache API keeps
// entries per data center, and does nothing on workers.dev routes: there the keys are
// fetched for every request that carries an Access token.
type cacheAPIKeys struct{ c *cache.Cache }

// fetchedAtHeader carries, on the cached response, when the keys were fetched.
const fetchedAtHeader = "X-Fetched-At"

func (k cacheAPIKeys) Load(ctx context.Context, url string) ([]byte, time.Time, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, time.Time{}, false
	}
	res, err := k.c.Match(req, nil)
	if err != nil {
		return nil, time.Time{}, false
	}
	defer res.Body.Close()
	ms, err := strconv.ParseInt(res.Header.Get(fetchedAtHeader), 10, 64)
	if err != nil {
		return nil, time.Time{}, false
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxJWKS))
	if err != nil {
		return nil, time.Time{}, false
	}
	return body, time.UnixMilli(ms), true
}

func (k cacheAPIKeys) Store(ctx context.Context, url string, jwks []byte, fetchedAt time.Time) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return
	}
	res := &http.Response{
		StatusCode: http.StatusOK,
		Header: http.Header{
			"Content-Type": {"application/json"},
			// Kept past accessKeysTTL, so that the keys can still be used when a refetch fails.
			"Cache-Control": {"max-age=" + strconv.Itoa(int(3*accessKeysTTL/time.Second))},
			fetchedAtHeader: {strconv.FormatInt(fetchedAt.UnixMilli(), 10)},
		},
		Body:          io.NopCloser(bytes.NewReader(jwks)),
		ContentLength: int64(len(jwks)),
	}
	_ = k.c.Put(req, res) // a cache that fails costs a fetch next time
}
