//go:build js && wasm

// Command wasm exposes the caspio core to JavaScript: the npm package's shim loads it once
// per JS realm and drives any number of clients through it.
//
// Every call from JS into Go is synchronous and returns at once. Go makes no Promise,
// starts no goroutine that waits on JS and sets no timer: in Cloudflare Workers a Go
// instance shared by concurrent requests hangs as soon as one request's goroutine waits for
// another's I/O, so all waiting (fetch, storage, single-flight, retry delays) stays in JS.
//
// The handshake avoids leaving globals behind: before running this program the shim puts
// an object at globalThis.__caspio_auth_init__ with makeError(kind, message, details), and
// ready(exports); main calls ready with the exports, and the shim deletes the property as
// soon as go.run returns control. Errors go back to JS as instances of the shim's Error
// subclasses, made by makeError, so they keep their class and code; the shim throws them.
package main

import (
	"syscall/js"

	"github.com/caspio-auth/caspio"
)

// version is set by build.sh (-ldflags -X main.version=...) to the npm package's version,
// so that the shim can refuse a .wasm from another build.
var version = "dev"

func main() {
	init := js.Global().Get("__caspio_auth_init__")
	if init.Type() != js.TypeObject {
		js.Global().Get("console").Call("error", "caspio-auth: the WebAssembly core was started without its JS shim")
		return
	}
	b := &bridge{makeError: init.Get("makeError"), clients: map[int]*clientCore{}}
	init.Call("ready", b.exports())
	select {} // keep the instance alive for calls from JS
}

// bridge holds the clients of one JS realm, by handle.
type bridge struct {
	makeError js.Value
	clients   map[int]*clientCore
	next      int
}

// clientCore is one client's flow and state.
type clientCore struct {
	flow  *caspio.Flow
	state caspio.State
}

func (b *bridge) exports() js.Value {
	fns := map[string]func(args []js.Value) any{
		"open":                b.open,
		"close":               b.close,
		"describe":            b.withClient(describe),
		"restore":             b.withClient(b.restore),
		"state":               b.withClient(func(c *clientCore, _ []js.Value) any { return js.ValueOf(c.state.Encode()) }),
		"decide":              b.withClient(decide),
		"tokenRequest":        b.withClient(tokenRequest),
		"handleTokenResponse": b.withClient(b.handleTokenResponse),
		"unauthorized":        b.withClient(unauthorized),
		"resolve":             b.withClient(b.resolve),
		"apiError":            b.apiError,
		"retryAfter":          retryAfter,
	}
	obj := js.Global().Get("Object").New()
	obj.Set("version", version)
	for name, fn := range fns {
		obj.Set(name, js.FuncOf(func(_ js.Value, args []js.Value) any { return fn(args) }))
	}
	return obj
}

// open(config) returns a handle for a new client, or a config error.
func (b *bridge) open(args []js.Value) any {
	if len(args) < 1 || args[0].Type() != js.TypeObject {
		return b.jsError(&caspio.ConfigError{Field: "options", Problem: "is not an object", Fix: "pass the client's options"})
	}
	o := args[0]
	cfg := caspio.Config{
		Account:        str(o, "account"),
		IntegrationURL: str(o, "integrationUrl"),
		TokenURL:       str(o, "tokenUrl"),
		ResourceURL:    str(o, "resourceUrl"),
		APIVersion:     str(o, "apiVersion"),
		ClientID:       str(o, "clientId"),
		ClientSecret:   caspio.NewSecret(str(o, "clientSecret")),
		Credentials:    str(o, "credentials"),
		RefreshMargin:  caspio.Millis(num(o, "refreshMarginMs")),
	}
	flow, err := caspio.NewFlow(cfg)
	if err != nil {
		return b.jsError(err)
	}
	b.next++
	b.clients[b.next] = &clientCore{flow: flow}
	return b.next
}

// close(handle) forgets a client.
func (b *bridge) close(args []js.Value) any {
	if len(args) > 0 && args[0].Type() == js.TypeNumber {
		delete(b.clients, args[0].Int())
	}
	return nil
}

// withClient looks up the handle in args[0] and passes the rest on.
func (b *bridge) withClient(fn func(c *clientCore, args []js.Value) any) func([]js.Value) any {
	return func(args []js.Value) any {
		if len(args) == 0 || args[0].Type() != js.TypeNumber {
			return b.jsError(&caspio.ConfigError{Field: "client", Problem: "no client handle was given", Fix: "create the client with createClient"})
		}
		c, ok := b.clients[args[0].Int()]
		if !ok {
			return b.jsError(&caspio.ConfigError{Field: "client", Problem: "is closed", Fix: "create a new client with createClient"})
		}
		return fn(c, args[1:])
	}
}

func describe(c *clientCore, _ []js.Value) any {
	f := c.flow
	return js.ValueOf(map[string]any{
		"tokenUrl":        f.TokenURL(),
		"resourceBase":    f.ResourceBase(),
		"resourceOrigin":  f.ResourceOrigin(),
		"apiVersion":      f.APIVersion(),
		"clientId":        f.ClientID(),
		"credentials":     f.Credentials(),
		"refreshMarginMs": float64(f.RefreshMargin()),
	})
}

// restore(handle, stored) adopts a stored state. It returns true when the state belongs to
// this client and was adopted, false when it belongs to another one (and is ignored), or a
// state error when it cannot be read.
func (b *bridge) restore(c *clientCore, args []js.Value) any {
	if len(args) == 0 {
		return false
	}
	s, err := caspio.ParseState(toGo(args[0], 0))
	if err != nil {
		return b.jsError(err)
	}
	if !c.flow.Owns(s) {
		return false
	}
	c.state = s
	return true
}

// decide(handle, now) returns {action, authorization, validUntil, refreshTokenExpiresAt}.
// refreshTokenExpiresAt is null when the state holds no refresh token.
func decide(c *clientCore, args []js.Value) any {
	d := c.flow.Decide(c.state, caspio.UnixMilli(numArg(args, 0)))
	out := map[string]any{"action": string(d.Action), "refreshTokenExpiresAt": nil}
	if d.Action == caspio.UseLease {
		out["authorization"] = d.Lease.Authorization.Reveal()
		out["validUntil"] = float64(d.Lease.ValidUntil)
	}
	if !c.state.RefreshToken.IsZero() {
		out["refreshTokenExpiresAt"] = float64(caspio.RefreshTokenExpiry(c.state))
	}
	return js.ValueOf(out)
}

// tokenRequest(handle, action) returns {method, url, headers, body, grant}.
func tokenRequest(c *clientCore, args []js.Value) any {
	req := c.flow.TokenRequest(caspio.Action(strArg(args, 0)), c.state)
	headers := map[string]any{}
	for name, value := range req.Header {
		headers[name] = value
	}
	if !req.Authorization.IsZero() {
		headers["Authorization"] = req.Authorization.Reveal()
	}
	return js.ValueOf(map[string]any{
		"method": req.Method, "url": req.URL, "headers": headers, "body": req.Body.Reveal(), "grant": req.Grant,
	})
}

// handleTokenResponse(handle, action, response, now, attempt, jitter) interprets a token
// response, keeps the new state and returns {state, retry, waitMs, error}.
// response is {status, contentType, body, notJSON, retryAfter, location, error}.
func (b *bridge) handleTokenResponse(c *clientCore, args []js.Value) any {
	r := arg(args, 1)
	resp := caspio.Response{
		Status:      int(num(r, "status")),
		ContentType: str(r, "contentType"),
		NotJSON:     r.Type() == js.TypeObject && r.Get("notJSON").Truthy(),
		RetryAfter:  str(r, "retryAfter"),
		Location:    str(r, "location"),
	}
	if r.Type() == js.TypeObject {
		resp.Body = toGo(r.Get("body"), 0)
		if msg := str(r, "error"); msg != "" {
			resp.Err = errorString(msg)
		}
	}
	res := c.flow.HandleTokenResponse(caspio.Action(strArg(args, 0)), c.state, resp,
		caspio.UnixMilli(numArg(args, 2)), int(numArg(args, 3)), numArg(args, 4))
	c.state = res.State
	out := js.Global().Get("Object").New()
	out.Set("state", js.ValueOf(res.State.Encode()))
	out.Set("retry", res.Retry)
	out.Set("waitMs", float64(res.Wait))
	if res.Err != nil {
		out.Set("error", b.jsError(res.Err))
	}
	return out
}

// unauthorized(handle, sentAuthorization) returns whether the 401 dropped the token.
func unauthorized(c *clientCore, args []js.Value) any {
	s, revoked := c.flow.Unauthorized(c.state, strArg(args, 0))
	c.state = s
	return revoked
}

// resolve(handle, ref) returns the URL to request, or a URL error.
func (b *bridge) resolve(c *clientCore, args []js.Value) any {
	u, err := c.flow.ResolveURL(strArg(args, 0))
	if err != nil {
		return b.jsError(err)
	}
	return u
}

// apiError(status, requestId, body) returns the API error for a failed resource response.
func (b *bridge) apiError(args []js.Value) any {
	return b.jsError(caspio.NewAPIError(int(numArg(args, 0)), strArg(args, 1), toGo(arg(args, 2), 0)))
}

// retryAfter(value, now) returns the wait a Retry-After header asks for, in milliseconds,
// or null when the value cannot be read.
func retryAfter(args []js.Value) any {
	wait, ok := caspio.ParseRetryAfter(strArg(args, 0), caspio.UnixMilli(numArg(args, 1)))
	if !ok {
		return nil
	}
	return float64(wait)
}

// jsError makes the shim's Error subclass for err, with the fields of its kind.
func (b *bridge) jsError(err error) js.Value {
	details := map[string]any{}
	kind := "RESPONSE_INVALID"
	switch e := err.(type) {
	case *caspio.ConfigError:
		kind = e.Kind()
		details["field"] = e.Field
	case *caspio.OAuthError:
		kind = e.Kind()
		details["status"] = e.Status
		details["error"] = e.ErrorCode
		details["errorDescription"] = e.Description
		details["errorUri"] = e.URI
		details["grant"] = e.Grant
	case *caspio.APIError:
		kind = e.Kind()
		// Caspio's own field names, so that err.Code reads as in Caspio's docs; err.code
		// stays the stable kind.
		details["status"] = e.Status
		details["Code"] = e.Code
		details["Message"] = e.Message
		details["Resource"] = e.Resource
		details["RequestId"] = e.RequestID
	case *caspio.ResponseError:
		kind = e.Kind()
		details["status"] = e.Status
		details["field"] = e.Field
		details["location"] = e.Location
	case *caspio.StateError:
		kind = e.Kind()
		details["field"] = e.Field
	case *caspio.URLError:
		kind = e.Kind()
		details["ref"] = e.Ref
	}
	return b.makeError.Invoke(kind, err.Error(), js.ValueOf(details))
}

type errorString string

func (e errorString) Error() string { return string(e) }

// toGo converts a JS value decoded from JSON into the Go shape encoding/json produces:
// map[string]any, []any, string, float64, bool or nil. Depth is bounded, as JSON from a
// server may nest without end.
func toGo(v js.Value, depth int) any {
	if depth > 64 {
		return nil
	}
	switch v.Type() {
	case js.TypeString:
		return v.String()
	case js.TypeNumber:
		return v.Float()
	case js.TypeBoolean:
		return v.Bool()
	case js.TypeObject:
		if js.Global().Get("Array").Call("isArray", v).Bool() {
			out := make([]any, v.Length())
			for i := range out {
				out[i] = toGo(v.Index(i), depth+1)
			}
			return out
		}
		keys := js.Global().Get("Object").Call("keys", v)
		out := make(map[string]any, keys.Length())
		for i := 0; i < keys.Length(); i++ {
			k := keys.Index(i).String()
			out[k] = toGo(v.Get(k), depth+1)
		}
		return out
	}
	return nil
}

func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

func strArg(args []js.Value, i int) string {
	if v := arg(args, i); v.Type() == js.TypeString {
		return v.String()
	}
	return ""
}

func numArg(args []js.Value, i int) float64 {
	if v := arg(args, i); v.Type() == js.TypeNumber {
		return v.Float()
	}
	return 0
}

func str(o js.Value, key string) string {
	if o.Type() != js.TypeObject {
		return ""
	}
	if v := o.Get(key); v.Type() == js.TypeString {
		return v.String()
	}
	return ""
}

func num(o js.Value, key string) float64 {
	if o.Type() != js.TypeObject {
		return 0
	}
	if v := o.Get(key); v.Type() == js.TypeNumber {
		return v.Float()
	}
	return 0
}
