//go:build js && wasm

package main

import (
	"strings"
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run under Node (GOOS=js GOARCH=wasm go test ./wasm/..., with the toolchain's
// lib/wasm on PATH). They call the exports the way the JS shim does, through js.Value.

// newTestBridge returns the exports with a makeError that is a Go function, recording the
// kind, message and details of each error as a plain JS object marked isError.
func newTestBridge(t *testing.T) js.Value {
	t.Helper()
	makeError := js.FuncOf(func(_ js.Value, args []js.Value) any {
		e := js.Global().Get("Error").New(args[1])
		e.Set("code", args[0])
		e.Set("details", args[2])
		return e
	})
	t.Cleanup(makeError.Release)
	b := &bridge{makeError: makeError.Value, clients: map[int]*clientCore{}}
	return b.exports()
}

func config(extra map[string]any) js.Value {
	o := map[string]any{"integrationUrl": "http://127.0.0.1:9", "clientId": "id-1", "clientSecret": "SECRET-1"}
	for k, v := range extra {
		o[k] = v
	}
	return js.ValueOf(o)
}

func isError(v js.Value) bool { return v.InstanceOf(js.Global().Get("Error")) }

func TestOpenAndDescribe(t *testing.T) {
	core := newTestBridge(t)
	h := core.Call("open", config(map[string]any{"apiVersion": "v3", "credentials": "basic", "refreshMarginMs": 60000}))
	require.Equal(t, js.TypeNumber, h.Type(), "open returns a handle")
	d := core.Call("describe", h)
	assert.Equal(t, "http://127.0.0.1:9/oauth/token", d.Get("tokenUrl").String())
	assert.Equal(t, "http://127.0.0.1:9/integrations/rest/v3", d.Get("resourceBase").String())
	assert.Equal(t, "basic", d.Get("credentials").String())
	assert.Equal(t, 60000, d.Get("refreshMarginMs").Int())

	core.Call("close", h)
	closed := core.Call("describe", h)
	require.True(t, isError(closed), "a closed handle gives an error")
	assert.Equal(t, "CONFIG_INVALID", closed.Get("code").String())
}

func TestConfigErrorCrossesAsAnError(t *testing.T) {
	core := newTestBridge(t)
	e := core.Call("open", config(map[string]any{"integrationUrl": "http://c1abc123.caspio.com"}))
	require.True(t, isError(e))
	assert.Equal(t, "CONFIG_INVALID", e.Get("code").String())
	assert.Equal(t, "IntegrationURL", e.Get("details").Get("field").String())
	assert.NotContains(t, e.Get("message").String(), "SECRET")

	e = core.Call("open", js.Null())
	require.True(t, isError(e), "a non-object config is an error, not a panic")
}

// TestTokenCycle runs a login through the exports: decide, tokenRequest, a response, and
// the lease that follows, all synchronous.
func TestTokenCycle(t *testing.T) {
	core := newTestBridge(t)
	h := core.Call("open", config(nil))
	const now = 1_700_000_000_000

	d := core.Call("decide", h, now)
	require.Equal(t, "authenticate", d.Get("action").String())
	req := core.Call("tokenRequest", h, "authenticate")
	assert.Equal(t, "POST", req.Get("method").String())
	assert.Equal(t, "grant_type=client_credentials&client_id=id-1&client_secret=SECRET-1", req.Get("body").String())

	body := js.Global().Get("JSON").Call("parse", `{"access_token":"SECRET-at","token_type":"bearer","expires_in":86399,"refresh_token":"SECRET-rt","extra":[1,{"a":null}]}`)
	res := core.Call("handleTokenResponse", h, "authenticate", js.ValueOf(map[string]any{"status": 200, "contentType": "application/json", "body": body}), now, 0, 0.5)
	require.False(t, res.Get("retry").Bool())
	require.True(t, res.Get("error").IsUndefined(), "no error")
	assert.Equal(t, "SECRET-rt", res.Get("state").Get("refresh_token").String())

	lease := core.Call("decide", h, now+1000)
	assert.Equal(t, "lease", lease.Get("action").String())
	assert.Equal(t, "Bearer SECRET-at", lease.Get("authorization").String())
	assert.Equal(t, float64(now+86399000-300000), lease.Get("validUntil").Float())
	assert.Equal(t, float64(now+60*86400000), lease.Get("refreshTokenExpiresAt").Float(), "an unused refresh token lives 60 days")

	assert.False(t, core.Call("unauthorized", h, "Bearer SECRET-old").Bool())
	assert.True(t, core.Call("unauthorized", h, "Bearer SECRET-at").Bool())
	assert.Equal(t, "refresh", core.Call("decide", h, now+1000).Get("action").String())
}

func TestResponseErrorsAndRetry(t *testing.T) {
	core := newTestBridge(t)
	h := core.Call("open", config(nil))
	res := core.Call("handleTokenResponse", h, "authenticate", js.ValueOf(map[string]any{"status": 503, "notJSON": true, "retryAfter": "2"}), 1_700_000_000_000, 0, 0.5)
	assert.True(t, res.Get("retry").Bool())
	assert.Equal(t, 2000, res.Get("waitMs").Int())
	e := res.Get("error")
	require.True(t, isError(e))
	assert.Equal(t, "RESPONSE_INVALID", e.Get("code").String())
	assert.Equal(t, 503, e.Get("details").Get("status").Int())

	res = core.Call("handleTokenResponse", h, "authenticate", js.ValueOf(map[string]any{"status": 401, "body": map[string]any{"error": "invalid_client"}}), 1_700_000_000_000, 0, 0.5)
	e = res.Get("error")
	assert.Equal(t, "OAUTH_ERROR", e.Get("code").String())
	assert.Equal(t, "invalid_client", e.Get("details").Get("error").String())
	assert.Equal(t, 2, res.Get("state").Get("counters").Get("client_credentials_requests").Int())
}

func TestRestore(t *testing.T) {
	core := newTestBridge(t)
	h := core.Call("open", config(nil))
	state := js.Global().Get("JSON").Call("parse", `{"version":1,"client_id":"id-1","token_url":"http://127.0.0.1:9/oauth/token","access_token":"SECRET-at","expires_at":4000000000000,"obtained_at":1}`)
	assert.True(t, core.Call("restore", h, state).Bool())
	assert.Equal(t, "lease", core.Call("decide", h, 1_700_000_000_000).Get("action").String())

	other := js.Global().Get("JSON").Call("parse", `{"version":1,"client_id":"someone-else","token_url":"x"}`)
	assert.False(t, core.Call("restore", h, other).Bool(), "another client's state is not adopted")

	for _, bad := range []string{`{"version":9,"client_id":"a","token_url":"b"}`, `[1]`, `null`, `{"version":1}`} {
		e := core.Call("restore", h, js.Global().Get("JSON").Call("parse", bad))
		require.True(t, isError(e), bad)
		assert.Equal(t, "STATE_INVALID", e.Get("code").String(), bad)
	}
	assert.Equal(t, "lease", core.Call("decide", h, 1_700_000_000_000).Get("action").String(), "a bad state leaves the good one in place")
}

func TestResolveAndAPIError(t *testing.T) {
	core := newTestBridge(t)
	h := core.Call("open", config(nil))
	assert.Equal(t, "http://127.0.0.1:9/rest/v2/tables?q.where=Name='A%20B'", core.Call("resolve", h, "tables?q.where=Name='A B'").String())
	e := core.Call("resolve", h, "https://evil.example/rest/v2/tables")
	require.True(t, isError(e))
	assert.Equal(t, "URL_REFUSED", e.Get("code").String())

	body := js.Global().Get("JSON").Call("parse", `{"Code":"ObjectNotFound","Message":"no table","RequestId":"r-1"}`)
	e = core.Call("apiError", 404, "hdr", body)
	assert.Equal(t, "CASPIO_API_ERROR", e.Get("code").String())
	assert.Equal(t, "ObjectNotFound", e.Get("details").Get("Code").String())
	assert.Equal(t, "r-1", e.Get("details").Get("RequestId").String())
}

// TestToGoBoundsDepth keeps a hostile, deeply nested body from exhausting the stack.
func TestToGoBoundsDepth(t *testing.T) {
	deep := js.Global().Get("JSON").Call("parse", strings.Repeat("[", 500)+strings.Repeat("]", 500))
	assert.NotPanics(t, func() { toGo(deep, 0) })
}
