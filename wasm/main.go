//go:build js && wasm

// Command wasm exposes the caspio core's protocol machine to JavaScript: the npm package's
// shim loads it once per JS realm and drives any number of clients through it.
//
// The exports, each synchronous (all return at once; Go makes no Promise, starts no
// goroutine and sets no timer: in Cloudflare Workers a Go instance shared by concurrent
// requests hangs as soon as one request's goroutine waits for another's I/O, so all
// waiting stays in JS):
//
//	open(config)                         -> {handle, description}   a client and its Machine
//	close(handle)                        forgets the client and its conversations
//	token | authenticate | refresh(handle, now)
//	fetch(handle, request, now)          -> step                    a new conversation
//	next(handle, conversation, result)   -> step                    the loop: feed a result
//	abandon(handle, conversation)        -> step                    Conversation.Close
//	status(handle, now)                  -> Status.Encode()
//	storeChanged(handle)                 Machine.StoreChanged
//	resolve(handle, ref)                 -> URL                     for the hot path's cache
//	apiError(status, requestId, body)    -> CaspioAPIError
//
// A step is Step.Encode() with "conversation" (its id) while the conversation goes on; a
// result is what caspio.ParseResult reads. Errors that end a call (a bad handle, a config
// error, a panic) come back as instances of the shim's Error subclasses, made by its
// makeError from EncodeError's value, so that they keep their class and code; the shim
// throws them. A panic inside an export becomes such an error for that call only: the
// conversation it happened in is closed (its joiners start over), and the instance and
// every other client go on.
//
// The handshake leaves no global behind: before running this program the shim puts an
// object at globalThis.__caspio_auth_init__ with makeError(encoded) and ready(exports); main
// calls ready, and the shim deletes the property as soon as go.run returns control.
package main

import (
	"runtime"
	"strconv"
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
	b := newBridge(init.Get("makeError"))
	init.Call("ready", b.exports())
	select {} // keep the instance alive for calls from JS
}

// bridge holds the clients of one JS realm and their conversations, by handle and id.
type bridge struct {
	reader
	buf       []byte   // reused for the JSON text of each step
	object    js.Value // Object, the constructor
	jsonParse js.Value // JSON.parse
	makeError js.Value
	clients   map[key]*caspio.Machine
	convs     map[key]conversation
	last      key // the last handle or conversation id given out
}

// key is a client's handle or a conversation's id, the key of both maps. (uint32, whose
// maps syscall/js links already: map[int] would add map code of its own, some 10 KB.)
type key = uint32

// newID returns an id that is not in use; 0 is none.
func (b *bridge) newID() key {
	for {
		b.last++
		_, client := b.clients[b.last]
		_, conv := b.convs[b.last]
		if b.last != 0 && !client && !conv {
			return b.last
		}
	}
}

type conversation struct {
	client key
	c      *caspio.Conversation
}

func newBridge(makeError js.Value) *bridge {
	g := js.Global()
	return &bridge{reader: newReader(), object: g.Get("Object"), jsonParse: g.Get("JSON").Get("parse"), makeError: makeError,
		clients: map[key]*caspio.Machine{}, convs: map[key]conversation{}}
}

// parse returns the value that JSON text describes.
func (b *bridge) parse(text []byte) js.Value { return b.jsonParse.Invoke(string(text)) }

func (b *bridge) exports() js.Value {
	obj := b.object.New()
	obj.Set("version", version)
	for _, e := range []struct {
		name string
		fn   func(args []js.Value) any
	}{
		{"open", b.open},
		{"close", b.close},
		{"token", b.start((*caspio.Machine).Token)},
		{"authenticate", b.start((*caspio.Machine).Authenticate)},
		{"refresh", b.start((*caspio.Machine).Refresh)},
		{"fetch", b.withClient(b.fetch)},
		{"next", b.withClient(b.feed)},
		{"abandon", b.withClient(b.abandon)},
		{"status", b.withClient(b.status)},
		{"storeChanged", b.withClient(b.storeChanged)},
		{"resolve", b.withClient(b.resolve)},
		{"apiError", b.apiError},
	} {
		obj.Set(e.name, b.guard(e.name, e.fn))
	}
	return obj
}

// guard makes fn a JS function whose panic becomes an error for that call, not a crash of
// the instance (a panic that leaves a js.Func kills the Go program, and with it every client
// of the realm).
func (b *bridge) guard(name string, fn func(args []js.Value) any) js.Func {
	return js.FuncOf(func(_ js.Value, args []js.Value) (out any) {
		defer func() {
			if r := recover(); r != nil {
				out = b.jsError(panicError(name, r))
			}
		}()
		return fn(args)
	})
}

// open(config) returns {handle, description} for a new client, or a config error. config
// holds the JS option names of caspio.Config, and the Machine's options: lock, hold and
// tokenTimeoutMs.
func (b *bridge) open(args []js.Value) any {
	o := arg(args, 0)
	if o.Type() != js.TypeObject {
		return b.jsError(&caspio.ConfigError{Field: "options", Problem: "is not an object", Fix: "pass the client's options"})
	}
	flow, err := caspio.NewFlow(caspio.Config{
		Account:        b.str(o, "account"),
		IntegrationURL: b.str(o, "integrationUrl"),
		TokenURL:       b.str(o, "tokenUrl"),
		ResourceURL:    b.str(o, "resourceUrl"),
		APIVersion:     b.str(o, "apiVersion"),
		ClientID:       b.str(o, "clientId"),
		ClientSecret:   caspio.NewSecret(b.str(o, "clientSecret")),
		Credentials:    b.str(o, "credentials"),
		RefreshMargin:  caspio.Millis(b.num(o, "refreshMarginMs")),
	})
	if err != nil {
		return b.jsError(err)
	}
	m, err := caspio.NewMachine(flow, caspio.Options{
		Lock:         b.truthy(o, "lock"),
		Hold:         b.str(o, "hold"),
		TokenTimeout: caspio.Millis(b.num(o, "tokenTimeoutMs")),
	})
	if err != nil {
		return b.jsError(err)
	}
	h := b.newID()
	b.clients[h] = m
	d := b.object.New()
	d.Set("tokenUrl", flow.TokenURL())
	d.Set("resourceBase", flow.ResourceBase())
	d.Set("resourceOrigin", flow.ResourceOrigin())
	d.Set("apiVersion", flow.APIVersion())
	d.Set("clientId", flow.ClientID())
	d.Set("credentials", flow.Credentials())
	d.Set("refreshMarginMs", float64(flow.RefreshMargin()))
	out := b.object.New()
	out.Set("handle", h)
	out.Set("description", d)
	return out
}

// close(handle) forgets a client and its conversations. A flight of its in JS finds its
// conversation gone at its next call.
func (b *bridge) close(args []js.Value) any {
	h := idArg(args, 0)
	delete(b.clients, h)
	for id, cv := range b.convs {
		if cv.client == h {
			delete(b.convs, id)
		}
	}
	return nil
}

// withClient looks up the handle in args[0] and passes the rest on. (Not inlined: inlined,
// each export would get a copy of the closure, some 9 KB of the .wasm in all.)
//
//go:noinline
func (b *bridge) withClient(fn func(h key, m *caspio.Machine, args []js.Value) any) func([]js.Value) any {
	return func(args []js.Value) any {
		h := idArg(args, 0)
		m, ok := b.clients[h]
		if !ok {
			return b.jsError(&caspio.ConfigError{Field: "client", Problem: "is closed", Fix: "create a new client with createClient"})
		}
		return fn(h, m, args[1:])
	}
}

// start makes token, authenticate and refresh: (handle, now) -> the first step.
//
//go:noinline
func (b *bridge) start(begin func(*caspio.Machine, caspio.UnixMilli) *caspio.Conversation) func([]js.Value) any {
	return b.withClient(func(h key, m *caspio.Machine, args []js.Value) any {
		return b.begin(h, begin(m, caspio.UnixMilli(numArg(args, 0))))
	})
}

// fetch(handle, {method, ref, oneShot, redirect, authorization}, now) -> the first step.
func (b *bridge) fetch(h key, m *caspio.Machine, args []js.Value) any {
	r := arg(args, 0)
	return b.begin(h, m.Fetch(caspio.ResourceRequest{
		Method:        b.str(r, "method"),
		Ref:           b.str(r, "ref"),
		OneShot:       b.truthy(r, "oneShot"),
		Redirect:      b.str(r, "redirect"),
		Authorization: caspio.NewSecret(b.str(r, "authorization")),
	}, caspio.UnixMilli(numArg(args, 1))))
}

func (b *bridge) begin(h key, c *caspio.Conversation) any {
	conv := b.newID()
	b.convs[conv] = conversation{client: h, c: c}
	return b.step(conv, c.Step)
}

// next(handle, conversation, result) feeds a result and returns the next step. A result of
// the wrong shape ends the conversation, as a misuse does.
func (b *bridge) feed(h key, _ *caspio.Machine, args []js.Value) any {
	id := idArg(args, 0)
	cv, ok := b.convs[id]
	if !ok || cv.client != h {
		return b.jsError(&caspio.StepError{Problem: "the conversation has ended or belongs to another client"})
	}
	return b.step(id, func() caspio.Step {
		r, err := caspio.ParseResult(b.toGo(arg(args, 1), 0))
		if err != nil {
			s := cv.c.Close()
			s.Err = err
			return s
		}
		return cv.c.Next(r)
	})
}

// abandon(handle, conversation) closes a conversation (Conversation.Close).
func (b *bridge) abandon(h key, _ *caspio.Machine, args []js.Value) any {
	id := idArg(args, 0)
	cv, ok := b.convs[id]
	if !ok || cv.client != h {
		return nil // ended already
	}
	return b.step(id, cv.c.Close)
}

// step runs f, which returns a step of conversation id, and encodes that step. The
// conversation is forgotten once it ended. A panic in f ends the conversation with it: the
// flight it ran lands (in the step's Landed), so that its joiners start over.
func (b *bridge) step(id key, f func() caspio.Step) (out any) {
	cv := b.convs[id]
	defer func() {
		if r := recover(); r != nil {
			delete(b.convs, id)
			s := closeQuietly(cv.c)
			s.Kind, s.Err = caspio.StepFail, panicError("a conversation", r)
			out = b.encode(s, 0)
		}
	}()
	s := f()
	if s.Kind == caspio.StepDone || s.Kind == caspio.StepFail {
		delete(b.convs, id)
		id = 0
	}
	return b.encode(s, id)
}

func closeQuietly(c *caspio.Conversation) (s caspio.Step) {
	defer func() { _ = recover() }()
	return c.Close()
}

// encode gives a step as the shim reads it: Step.Encode(), with its id while the
// conversation goes on, and its errors (the fail step's, the events') in the shape of the
// shim's error classes (see jsErrorShape). It crosses as one JSON text, which JS parses:
// building the object key by key from Go would cross the boundary for every field.
func (b *bridge) encode(s caspio.Step, id key) js.Value {
	text := s.AppendJSON(b.buf[:0])
	if id != 0 {
		text = append(text[:len(text)-1], `,"conversation":`...)
		text = append(strconv.AppendUint(text, uint64(id), 10), '}')
	}
	b.buf = text
	v := b.parse(text)
	if s.Kind == caspio.StepFail {
		jsErrorShape(v.Get("error"), s.Err)
	}
	for i, e := range s.Events {
		if e.Err != nil {
			jsErrorShape(v.Get("events").Index(i).Get("error"), e.Err)
		}
	}
	return v
}

// status(handle, now) returns Status.Encode().
func (b *bridge) status(_ key, m *caspio.Machine, args []js.Value) any {
	return b.parse(m.Status(caspio.UnixMilli(numArg(args, 0))).AppendJSON(b.buf[:0]))
}

// storeChanged(handle) tells the machine that another writer changed the store.
func (b *bridge) storeChanged(_ key, m *caspio.Machine, _ []js.Value) any {
	m.StoreChanged()
	return nil
}

// resolve(handle, ref) returns the URL to request, or a URL error.
func (b *bridge) resolve(_ key, m *caspio.Machine, args []js.Value) any {
	u, err := m.Flow().ResolveURL(strArg(args, 0))
	if err != nil {
		return b.jsError(err)
	}
	return u
}

// apiError(status, requestId, body) returns the API error for a failed resource response.
func (b *bridge) apiError(args []js.Value) any {
	return b.jsError(caspio.NewAPIError(int(numArg(args, 0)), strArg(args, 1), b.toGo(arg(args, 2), 0)))
}

// jsError makes the shim's Error subclass for err.
func (b *bridge) jsError(err error) js.Value {
	v := b.parse(caspio.AppendErrorJSON(b.buf[:0], err))
	jsErrorShape(v, err)
	return b.makeError.Invoke(v)
}

// jsErrorShape gives v, caspio.EncodeError's value for err, the field names of the shim's
// error classes (index.d.ts), which the shim's makeError passes to their constructors:
// kind (their code), message, and each class's fields. Caspio's API errors keep Caspio's
// own names (err.Code reads as in Caspio's docs; err.code stays the kind).
func jsErrorShape(v js.Value, err error) {
	var rename [3][2]string
	switch e := err.(type) {
	case *caspio.OAuthError:
		rename = [3][2]string{{"error_code", "error"}, {"error_description", "errorDescription"}, {"error_uri", "errorUri"}}
	case *caspio.APIError:
		rename = [3][2]string{{"code", "Code"}, {"resource", "Resource"}, {"request_id", "RequestId"}}
		v.Set("Message", e.Message)
	case *caspio.TokenError:
		if e.Cause != nil {
			jsErrorShape(v.Get("cause"), e.Cause)
		}
		return
	default:
		return
	}
	for _, r := range rename {
		v.Set(r[1], v.Get(r[0]))
		v.Delete(r[0])
	}
}

// kindPanic is the code of the error a panic in an export becomes.
const kindPanic = "CORE_PANIC"

type coreError struct{ problem string }

func (e *coreError) Error() string { return "caspio: " + e.problem }
func (e *coreError) Kind() string  { return kindPanic }

// panicError describes a panic without its value, which may hold what a caller passed in
// (a JS exception's message, say): only the Go runtime's own messages are shown.
func panicError(where string, r any) error {
	what := "an unexpected state"
	switch e := r.(type) {
	case runtime.Error:
		what = e.Error()
	case js.Error:
		what = "a JavaScript value it read threw an exception"
	}
	return &coreError{problem: "the WebAssembly core failed in " + where + " (" + what + "); the call was abandoned, and other calls go on: please report it"}
}

// reader reads JS values through calls that catch exceptions (Reflect.get, Object.entries):
// a getter or Proxy that throws then makes syscall/js panic, which guard recovers, where a
// plain js.Value.Get would let the exception unwind through Go's frames and kill the
// instance.
type reader struct{ get, entries, isArray js.Value }

func newReader() reader {
	g := js.Global()
	return reader{get: g.Get("Reflect").Get("get"), entries: g.Get("Object").Get("entries"), isArray: g.Get("Array").Get("isArray")}
}

// toGo converts a JS value decoded from JSON into the Go shape encoding/json produces:
// map[string]any, []any, string, float64, bool or nil. Depth is bounded, as JSON from a
// server may nest without end.
func (rd reader) toGo(v js.Value, depth int) any {
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
		pairs := rd.entries.Invoke(v) // for an array, its elements in order
		if rd.isArray.Invoke(v).Bool() {
			out := make([]any, pairs.Length())
			for i := range out {
				out[i] = rd.toGo(pairs.Index(i).Index(1), depth+1)
			}
			return out
		}
		out := make(map[string]any, pairs.Length())
		for i := 0; i < pairs.Length(); i++ {
			pair := pairs.Index(i)
			out[pair.Index(0).String()] = rd.toGo(pair.Index(1), depth+1)
		}
		return out
	}
	return nil
}

func (rd reader) str(o js.Value, key string) string {
	if o.Type() != js.TypeObject {
		return ""
	}
	return asString(rd.get.Invoke(o, key))
}

func (rd reader) num(o js.Value, key string) float64 {
	if o.Type() != js.TypeObject {
		return 0
	}
	return asNumber(rd.get.Invoke(o, key))
}

func (rd reader) truthy(o js.Value, key string) bool {
	return o.Type() == js.TypeObject && rd.get.Invoke(o, key).Truthy()
}

func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

func strArg(args []js.Value, i int) string { return asString(arg(args, i)) }

func numArg(args []js.Value, i int) float64 { return asNumber(arg(args, i)) }

// idArg reads a handle or conversation id; 0 (none) for anything else.
func idArg(args []js.Value, i int) key {
	if n := numArg(args, i); n >= 1 && n <= 1<<32-1 {
		return key(n)
	}
	return 0
}

func asString(v js.Value) string {
	if v.Type() == js.TypeString {
		return v.String()
	}
	return ""
}

func asNumber(v js.Value) float64 {
	if v.Type() == js.TypeNumber {
		return v.Float()
	}
	return 0
}
