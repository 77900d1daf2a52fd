//go:build js && wasm

package main

import (
	"strings"
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
)

// These tests run under Node (GOOS=js GOARCH=wasm go test ./wasm/..., with the toolchain's
// lib/wasm on PATH). They call the exports the way the JS shim does, through js.Value.

const now = 1_700_000_000_000

// newTestBridge returns the exports with a makeError that is a Go function: it makes an
// Error with the encoded error's kind as code and the encoded value as details.
func newTestBridge(t *testing.T) js.Value {
	t.Helper()
	makeError := js.FuncOf(func(_ js.Value, args []js.Value) any {
		e := js.Global().Get("Error").New(args[0].Get("message"))
		e.Set("code", args[0].Get("kind"))
		e.Set("details", args[0])
		return e
	})
	t.Cleanup(makeError.Release)
	return newBridge(makeError.Value).exports()
}

func config(extra map[string]any) js.Value {
	o := map[string]any{"integrationUrl": "http://127.0.0.1:9", "clientId": "id-1", "clientSecret": "SECRET-1"}
	for k, v := range extra {
		o[k] = v
	}
	return js.ValueOf(o)
}

func open(t *testing.T, core js.Value, extra map[string]any) js.Value {
	t.Helper()
	opened := core.Call("open", config(extra))
	require.False(t, isError(opened), "open: %v", opened)
	return opened.Get("handle")
}

func isError(v js.Value) bool { return v.InstanceOf(js.Global().Get("Error")) }

func parseJSON(text string) js.Value { return js.Global().Get("JSON").Call("parse", text) }

// result makes a result as the shim feeds it.
func result(kind string, at int64, extra map[string]any) js.Value {
	r := js.ValueOf(map[string]any{"kind": kind, "now": at})
	for k, v := range extra {
		r.Set(k, v)
	}
	return r
}

const loginBody = `{"access_token":"SECRET-at","token_type":"bearer","expires_in":86399,"refresh_token":"SECRET-rt"}`

func tokenResponse(status int, body string) map[string]any {
	return map[string]any{"status": status, "content_type": "application/json", "body": parseJSON(body)}
}

func TestOpenAndClose(t *testing.T) {
	core := newTestBridge(t)
	opened := core.Call("open", config(map[string]any{"apiVersion": "v3", "credentials": "basic", "refreshMarginMs": 60000}))
	require.Equal(t, js.TypeNumber, opened.Get("handle").Type(), "open returns a handle")
	d := opened.Get("description")
	assert.Equal(t, "http://127.0.0.1:9/oauth/token", d.Get("tokenUrl").String())
	assert.Equal(t, "http://127.0.0.1:9/integrations/rest/v3", d.Get("resourceBase").String())
	assert.Equal(t, "basic", d.Get("credentials").String())
	assert.Equal(t, 60000, d.Get("refreshMarginMs").Int())

	h := opened.Get("handle")
	step := core.Call("token", h, now)
	core.Call("close", h)
	for _, v := range []js.Value{core.Call("status", h, now), core.Call("token", h, now), core.Call("next", h, step.Get("conversation"), result("read", now, nil))} {
		require.True(t, isError(v), "a closed handle gives an error")
		assert.Equal(t, "CONFIG_INVALID", v.Get("code").String())
	}
}

func TestConfigErrorsCrossAsErrors(t *testing.T) {
	core := newTestBridge(t)
	e := core.Call("open", config(map[string]any{"integrationUrl": "http://c1abc123.caspio.com"}))
	require.True(t, isError(e))
	assert.Equal(t, "CONFIG_INVALID", e.Get("code").String())
	assert.Equal(t, "integrationUrl", e.Get("details").Get("field").String(), "the JS option's name")
	assert.NotContains(t, e.Get("message").String(), "SECRET")

	e = core.Call("open", config(map[string]any{"integrationUrl": "", "tokenUrl": "http://127.0.0.1:9/oauth/token"}))
	require.True(t, isError(e))
	assert.Equal(t, "caspio: config resourceUrl: is empty while tokenUrl is set; set both tokenUrl and resourceUrl, as the Web services profile shows them", e.Get("message").String())

	e = core.Call("open", config(map[string]any{"hold": "everything"}))
	require.True(t, isError(e), "the machine's options are checked too")
	assert.Equal(t, "hold", e.Get("details").Get("field").String())
	assert.Contains(t, e.Get("message").String(), `("everything")`)

	require.True(t, isError(core.Call("open", js.Null())), "a non-object config is an error, not a panic")
}

// TestShowInput: the rule of what a message may quote, as the CLI and the options reach it.
func TestShowInput(t *testing.T) {
	core := newTestBridge(t)
	assert.Equal(t, `"v4"`, core.Call("showInput", "apiVersion", "v4").String())
	assert.Equal(t, "6 characters: letters", core.Call("showInput", "header", "Bearer").String())
	valid := js.ValueOf([]any{"--where", "--select", 7})
	assert.Equal(t, `"--wher" (did you mean --where?)`, core.Call("showUnknown", "option", "--wher", valid).String())
	assert.Equal(t, `"--wher"`, core.Call("showUnknown", "option", "--wher", js.Undefined()).String(), "no list, no suggestion")
	assert.Equal(t, "empty", core.Call("showInput").String(), "no field is a field the rule does not name: described")
}

// The JS hot path's table is the core's Final, status by status.
func TestFinalStatuses(t *testing.T) {
	table := newTestBridge(t).Get("finalStatuses").String()
	assert.Len(t, table, 1000)
	for status := range 1000 {
		assert.Equal(t, caspio.Final(status), table[status] == '1', "status %d", status)
	}
}

// TestTokenConversation runs a cold start through the exports: token, then next for each
// step (read, token_request, write) to done, every call synchronous.
func TestTokenConversation(t *testing.T) {
	core := newTestBridge(t)
	h := open(t, core, nil)

	step := core.Call("token", h, now)
	require.Equal(t, "read", step.Get("kind").String())
	conv := step.Get("conversation")
	require.Equal(t, js.TypeNumber, conv.Type(), "a step names its conversation while it goes on")
	assert.Equal(t, 1, step.Get("flight").Int())

	step = core.Call("next", h, conv, result("read", now, map[string]any{"stored": nil}))
	require.Equal(t, "token_request", step.Get("kind").String())
	assert.Equal(t, "grant_type=client_credentials&client_id=id-1&client_secret=SECRET-1", step.Get("body").String())
	assert.Equal(t, "application/x-www-form-urlencoded", step.Get("headers").Get("Content-Type").String())
	assert.Equal(t, "token_request", step.Get("events").Index(0).Get("kind").String())

	step = core.Call("next", h, conv, result("token_request", now+100, map[string]any{"jitter": 0.5, "response": tokenResponse(200, loginBody)}))
	require.Equal(t, "write", step.Get("kind").String())
	assert.Equal(t, "SECRET-rt", step.Get("state").Get("refresh_token").String())
	assert.Equal(t, float64(60*86400000), step.Get("ttl_ms").Float(), "a store that expires entries keeps it while the refresh token lives")

	step = core.Call("next", h, conv, result("write", now+110, nil))
	require.Equal(t, "done", step.Get("kind").String())
	assert.True(t, step.Get("conversation").IsUndefined(), "an ended conversation has no id")
	assert.Equal(t, 1, step.Get("landed").Int())
	assert.Equal(t, "Bearer SECRET-at", step.Get("lease").Get("authorization").String())
	assert.Equal(t, float64(now+100+86399000-300000), step.Get("lease").Get("valid_until").Float())
	assert.Equal(t, 1, step.Get("status").Get("counters").Get("logins").Int())

	again := core.Call("next", h, conv, result("write", now+120, nil))
	require.True(t, isError(again), "an ended conversation is forgotten")
	assert.Equal(t, "STEP_MISUSED", again.Get("code").String())

	// The lease in memory serves the next token call at once, and the status shows it.
	assert.Equal(t, "done", core.Call("token", h, now+1000).Get("kind").String())
	st := core.Call("status", h, now+1000)
	assert.Equal(t, "lease", st.Get("next").String())
	assert.Equal(t, 300000, st.Get("refresh_margin_ms").Int())
	core.Call("storeChanged", h)
	assert.Equal(t, "read", core.Call("token", h, now+2000).Get("kind").String(), "after a change notice the store is read")
}

// TestFetchConversation: a 401 to the hot path's lease resumes in a conversation, which
// refreshes and sends once more; a reference off the REST base fails with a URL error.
func TestFetchConversation(t *testing.T) {
	core := newTestBridge(t)
	h := open(t, core, nil)
	step := core.Call("authenticate", h, now)
	conv := step.Get("conversation")
	step = core.Call("next", h, conv, result("read", now, nil))
	step = core.Call("next", h, conv, result("token_request", now, map[string]any{"response": tokenResponse(200, loginBody)}))
	step = core.Call("next", h, conv, result("write", now, nil))
	require.Equal(t, "done", step.Get("kind").String())

	step = core.Call("fetch", h, js.ValueOf(map[string]any{"method": "POST", "ref": "tables", "authorization": "Bearer SECRET-at"}), now+1000)
	require.Equal(t, "send", step.Get("kind").String())
	assert.Equal(t, "http://127.0.0.1:9/rest/v2/tables", step.Get("url").String())
	conv = step.Get("conversation")
	step = core.Call("next", h, conv, result("send", now+1010, map[string]any{"response": map[string]any{"status": 401}}))
	require.Equal(t, "read", step.Get("kind").String())
	assert.Equal(t, "revoked", step.Get("events").Index(0).Get("kind").String())
	step = core.Call("next", h, conv, result("read", now+1020, nil))
	require.Equal(t, "token_request", step.Get("kind").String())
	assert.Equal(t, "refresh_token", step.Get("grant").String())
	step = core.Call("next", h, conv, result("token_request", now+1030, map[string]any{
		"response": tokenResponse(200, `{"access_token":"SECRET-at2","token_type":"bearer","expires_in":86399}`),
	}))
	step = core.Call("next", h, conv, result("write", now+1040, nil))
	require.Equal(t, "send", step.Get("kind").String())
	assert.Equal(t, "Bearer SECRET-at2", step.Get("authorization").String())
	assert.True(t, step.Get("keep_body").Bool())
	step = core.Call("next", h, conv, result("send", now+1050, map[string]any{"response": map[string]any{"status": 201}}))
	require.Equal(t, "done", step.Get("kind").String())
	assert.Equal(t, "Bearer SECRET-at2", step.Get("lease").Get("authorization").String())

	step = core.Call("fetch", h, js.ValueOf(map[string]any{"ref": "https://evil.example/rest/v2/tables"}), now)
	require.Equal(t, "fail", step.Get("kind").String())
	assert.Equal(t, "URL_REFUSED", step.Get("error").Get("kind").String())
}

func TestAbandonAndBadResults(t *testing.T) {
	core := newTestBridge(t)
	h := open(t, core, map[string]any{"lock": true})
	step := core.Call("token", h, now)
	conv := step.Get("conversation")
	step = core.Call("next", h, conv, result("read", now, nil))
	require.Equal(t, "lock", step.Get("kind").String(), "with a lock: looked at, then locked")

	joiner := core.Call("refresh", h, now)
	require.Equal(t, "join", joiner.Get("kind").String())

	step = core.Call("abandon", h, conv)
	require.Equal(t, "fail", step.Get("kind").String())
	assert.Equal(t, 1, step.Get("landed").Int(), "the flight lands, so that its joiners start over")
	assert.True(t, core.Call("abandon", h, conv).IsNull(), "abandoning an ended conversation does nothing")

	step = core.Call("next", h, joiner.Get("conversation"), result("join", now, nil))
	require.Equal(t, "lock", step.Get("kind").String(), "the joiner runs its own flight")
	step = core.Call("next", h, joiner.Get("conversation"), js.ValueOf(map[string]any{"kind": "lock", "now": "soon"}))
	require.Equal(t, "fail", step.Get("kind").String(), "a result of the wrong shape ends the conversation")
	assert.Equal(t, "STEP_MISUSED", step.Get("error").Get("kind").String())
	assert.Contains(t, step.Get("error").Get("message").String(), "now")
	assert.Equal(t, 2, step.Get("landed").Int())
}

// TestPanicIsAnErrorOfOneCall: a result whose property getter throws makes syscall/js
// panic inside next. That call fails with CORE_PANIC, its conversation ends (its flight
// lands), and the instance serves every later call.
func TestPanicIsAnErrorOfOneCall(t *testing.T) {
	core := newTestBridge(t)
	h := open(t, core, nil)
	step := core.Call("token", h, now)
	hostile := js.Global().Get("Function").New(`return {kind: "read", now: 1, get stored() { throw new Error("boom SECRET-9") }}`).Invoke()

	var out js.Value
	require.NotPanics(t, func() { out = core.Call("next", h, step.Get("conversation"), hostile) })
	require.Equal(t, "fail", out.Get("kind").String())
	e := out.Get("error")
	assert.Equal(t, kindPanic, e.Get("kind").String())
	assert.NotContains(t, e.Get("message").String(), "SECRET", "the exception's message is not shown")
	assert.Contains(t, e.Get("message").String(), "JavaScript value")
	assert.Equal(t, 1, out.Get("landed").Int())

	// Exports that take no conversation turn a panic into a thrown error.
	badRequest := js.Global().Get("Function").New(`return {get ref() { throw new Error("boom") }}`).Invoke()
	e = core.Call("fetch", h, badRequest, now)
	require.True(t, isError(e))
	assert.Equal(t, kindPanic, e.Get("code").String())

	// The instance and the client go on: a new acquisition, not a join to a dead flight.
	step = core.Call("token", h, now)
	assert.Equal(t, "read", step.Get("kind").String())
	assert.Equal(t, 2, step.Get("flight").Int())
}

func TestResolveAndAPIError(t *testing.T) {
	core := newTestBridge(t)
	h := open(t, core, nil)
	assert.Equal(t, "http://127.0.0.1:9/rest/v2/tables?q.where=Name='A%20B'", core.Call("resolve", h, "tables?q.where=Name='A B'").String())
	e := core.Call("resolve", h, "https://evil.example/rest/v2/tables")
	require.True(t, isError(e))
	assert.Equal(t, "URL_REFUSED", e.Get("code").String())

	e = core.Call("apiError", 404, "hdr", parseJSON(`{"Code":"ObjectNotFound","Message":"no table","RequestId":"r-1"}`))
	assert.Equal(t, "CASPIO_API_ERROR", e.Get("code").String())
	assert.Equal(t, "ObjectNotFound", e.Get("details").Get("Code").String(), "Caspio's own field names")
	assert.Equal(t, "no table", e.Get("details").Get("Message").String())
	assert.Equal(t, "r-1", e.Get("details").Get("RequestId").String())
}

// TestErrorShapes: errors in steps and events carry the field names of the shim's classes.
func TestErrorShapes(t *testing.T) {
	core := newTestBridge(t)
	h := open(t, core, nil)
	step := core.Call("authenticate", h, now)
	conv := step.Get("conversation")
	core.Call("next", h, conv, result("read", now, nil))
	step = core.Call("next", h, conv, result("token_request", now, map[string]any{
		"response": tokenResponse(401, `{"error":"invalid_client","error_description":"bad SECRET-1"}`),
	}))
	require.Equal(t, "write", step.Get("kind").String())
	e := step.Get("events").Index(0).Get("error")
	assert.Equal(t, "OAUTH_ERROR", e.Get("kind").String())
	assert.Equal(t, "invalid_client", e.Get("error").String())
	assert.Equal(t, 401, e.Get("status").Int())
	assert.Equal(t, "client_credentials", e.Get("grant").String())
	assert.True(t, e.Get("error_code").IsUndefined(), "renamed, not copied")
	step = core.Call("next", h, conv, result("write", now, nil))
	require.Equal(t, "fail", step.Get("kind").String())
	assert.Equal(t, "invalid_client", step.Get("error").Get("error").String())
	assert.NotContains(t, step.Get("error").Get("errorDescription").String(), "SECRET-1")
}

// TestToGoBoundsDepth keeps a hostile, deeply nested body from exhausting the stack.
func TestToGoBoundsDepth(t *testing.T) {
	deep := parseJSON(strings.Repeat("[", 500) + strings.Repeat("]", 500))
	assert.NotPanics(t, func() { newReader().toGo(deep, 0) })
}

// split stands for strings.Split with a separator that is not empty.
func TestSplitIsStringsSplit(t *testing.T) {
	for _, s := range []string{"", ",", "a", "a,b", ",a,", "a,,b", "PK_ID, Total", "\n", "x\ny"} {
		for _, sep := range []byte{',', '\n'} {
			assert.Equal(t, strings.Split(s, string(sep)), split(s, sep), "%q %q", s, sep)
		}
	}
}

// The table of clients and conversations stays in the order of ids, also when the ids wrap
// around, and an id names one kind of entry only.
func TestEntriesStaySorted(t *testing.T) {
	b := &bridge{last: 1<<32 - 3}
	client := b.add(entry{m: &caspio.Machine{}})
	var convs []key
	for range 4 {
		convs = append(convs, b.add(entry{client: client, c: &caspio.Conversation{}}))
	}
	assert.Equal(t, []key{1<<32 - 1, 1, 2, 3}, convs, "0 is never given out")
	for i := 1; i < len(b.entries); i++ {
		require.Less(t, b.entries[i-1].id, b.entries[i].id)
	}
	_, ok := b.lookup(client, true)
	assert.False(t, ok, "a handle is no conversation")
	_, ok = b.lookup(convs[0], false)
	assert.False(t, ok, "a conversation is no client")
	b.remove(convs[1])
	_, ok = b.lookup(convs[1], true)
	assert.False(t, ok)
	e, ok := b.lookup(convs[2], true)
	assert.True(t, ok)
	assert.Equal(t, client, e.client)
	b.close([]js.Value{js.ValueOf(float64(client))})
	assert.Empty(t, b.entries, "closing a client forgets its conversations")
}
