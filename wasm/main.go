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
//	page(handle, source, name, select, where, orderBy, groupBy, limit, pageSize, startPage,
//	     page, after, fetched, count, lastKey, total) -> "url\npage\nafter\nfetched\nkeep\nsize"
//	recordsRef(handle, op, table, where, returnRows) -> URL         caspio.RecordsRef, resolved
//	recordsError(status, requestId, body, table) -> CaspioAPIError  with table and field
//	insertOutcome(status)                -> "inserted" | "refused" | "unknown"
//	showInput(field, value)              -> string                  caspio.ShowInput, for messages
//	showUnknown(field, typed, valid)     -> string                  caspio.ShowUnknown
//	resourcePath(path)                   -> "ref\nsegment\n..." | problem   caspio.ParseResourcePath, ResourceRef
//	badResourceChar(name)                -> "" | "at\nwhat"         caspio.BadResourceChar
//	tokenFailure(status, refused, code)  -> "answer\ncode\nmessage" caspio.ProxyTokenFailure
//	compareStored(a, b)                  -> 1 | 0 | -1              caspio.CompareStored, for webStorage
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
	"syscall/js"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/internal/decimal"
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
	// entries are the clients and the conversations, in the order of their ids: a sorted
	// slice, not maps, as deleting from a map would link the runtime's map deletion, some
	// 7 KB of the .wasm. A realm holds a few clients and as many conversations as requests
	// in flight.
	entries []entry
	last    key // the last handle or conversation id given out
}

// key is a client's handle or a conversation's id; both are given out by add, so that no
// handle is ever a conversation's id.
type key = uint32

// entry is a client (c nil, client its own handle) or a conversation of client.
type entry struct {
	id     key
	client key
	m      *caspio.Machine
	c      *caspio.Conversation
}

// find returns where the entry of id is, or would be, in b.entries, and whether it is there.
func (b *bridge) find(id key) (int, bool) {
	lo, hi := 0, len(b.entries)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if b.entries[mid].id < id {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < len(b.entries) && b.entries[lo].id == id
}

// lookup returns the entry of id: a client when conv is false, a conversation when it is
// true. ok is false when there is none of that kind.
func (b *bridge) lookup(id key, conv bool) (e entry, ok bool) {
	if i, found := b.find(id); found && (b.entries[i].c != nil) == conv {
		return b.entries[i], true
	}
	return entry{}, false
}

// add gives e a new id, keeps it, and returns the id.
func (b *bridge) add(e entry) key {
	for {
		b.last++
		i, found := b.find(b.last)
		if b.last != 0 && !found {
			e.id = b.last
			b.entries = append(b.entries, entry{})
			copy(b.entries[i+1:], b.entries[i:])
			b.entries[i] = e
			return e.id
		}
	}
}

// remove forgets the entry of id, if any.
func (b *bridge) remove(id key) {
	if i, found := b.find(id); found {
		b.entries = append(b.entries[:i], b.entries[i+1:]...)
		b.entries[:len(b.entries)+1][len(b.entries)] = entry{} // no reference kept past the end
	}
}

func newBridge(makeError js.Value) *bridge {
	g := js.Global()
	return &bridge{reader: newReader(), object: g.Get("Object"), jsonParse: g.Get("JSON").Get("parse"), makeError: makeError}
}

// finalStatuses is caspio.Final as a table for the JS hot path, which must not call into Go:
// character s is '1' when a response of status s to a request sent with a lease is handed
// back without the machine, for every status a result may carry (0 to 999).
func finalStatuses() string {
	table := make([]byte, 1000)
	for status := range table {
		table[status] = '0'
		if caspio.Final(status) {
			table[status] = '1'
		}
	}
	return string(table)
}

// parse returns the value that JSON text describes.
func (b *bridge) parse(text []byte) js.Value { return b.jsonParse.Invoke(string(text)) }

// exports makes the JS object of exports. Its table holds method expressions
// ((*bridge).open), not method values (b.open): every method value would be a wrapper
// function of its own, some 14 KB of the .wasm in all.
func (b *bridge) exports() js.Value {
	obj := b.object.New()
	obj.Set("version", version)
	obj.Set("finalStatuses", finalStatuses())
	for _, e := range []struct {
		name string
		fn   func(b *bridge, args []js.Value) any
	}{
		{"open", (*bridge).open},
		{"close", (*bridge).close},
		{"token", start((*caspio.Machine).Token)},
		{"authenticate", start((*caspio.Machine).Authenticate)},
		{"refresh", start((*caspio.Machine).Refresh)},
		{"fetch", withClient((*bridge).fetch)},
		{"next", withClient((*bridge).feed)},
		{"abandon", withClient((*bridge).abandon)},
		{"status", withClient((*bridge).status)},
		{"storeChanged", withClient((*bridge).storeChanged)},
		{"resolve", withClient((*bridge).resolve)},
		{"apiError", (*bridge).apiError},
		{"page", withClient((*bridge).page)},
		{"recordsRef", withClient((*bridge).recordsRef)},
		{"recordsError", (*bridge).recordsError},
		{"insertOutcome", (*bridge).insertOutcome},
		{"showInput", (*bridge).showInput},
		{"showUnknown", (*bridge).showUnknown},
		{"resourcePath", (*bridge).resourcePath},
		{"badResourceChar", (*bridge).badResourceChar},
		{"tokenFailure", (*bridge).tokenFailure},
		{"compareStored", (*bridge).compareStored},
	} {
		obj.Set(e.name, b.guard(e.name, e.fn))
	}
	return obj
}

// guard makes fn a JS function whose panic becomes an error for that call, not a crash of
// the instance (a panic that leaves a js.Func kills the Go program, and with it every client
// of the realm).
func (b *bridge) guard(name string, fn func(b *bridge, args []js.Value) any) js.Func {
	return js.FuncOf(func(_ js.Value, args []js.Value) (out any) {
		defer func() {
			if r := recover(); r != nil {
				out = b.jsError(panicError(name, r))
			}
		}()
		return fn(b, args)
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
	settings, err := caspio.NewSettings(caspio.Config{
		Account:        b.str(o, jsNames.Account),
		IntegrationURL: b.str(o, jsNames.IntegrationURL),
		TokenURL:       b.str(o, jsNames.TokenURL),
		ResourceURL:    b.str(o, jsNames.ResourceURL),
		APIVersion:     b.str(o, jsNames.APIVersion),
		ClientID:       b.str(o, jsNames.ClientID),
		ClientSecret:   caspio.NewSecret(b.str(o, jsNames.ClientSecret)),
		Credentials:    b.str(o, jsNames.Credentials),
		RefreshMargin:  caspio.Millis(b.num(o, "refreshMarginMs")),
	})
	if ce, ok := err.(*caspio.ConfigError); ok {
		return b.jsError(ce.Named(jsNames))
	} else if err != nil {
		return b.jsError(err)
	}
	m, err := caspio.NewMachine(settings, caspio.Options{
		Lock:         b.truthy(o, "lock"),
		Hold:         b.str(o, jsNames.Hold),
		TokenTimeout: caspio.Millis(b.num(o, "tokenTimeoutMs")),
		LeaseKey:     b.str(o, "leaseKey"),
	})
	if ce, ok := err.(*caspio.ConfigError); ok {
		return b.jsError(ce.Named(jsNames))
	} else if err != nil {
		return b.jsError(err)
	}
	h := b.add(entry{m: m})
	d := b.object.New()
	d.Set("tokenUrl", settings.TokenURL())
	d.Set("resourceBase", settings.ResourceBase())
	d.Set("resourceOrigin", settings.ResourceOrigin())
	d.Set("apiVersion", settings.APIVersion())
	d.Set("clientId", settings.ClientID())
	d.Set("credentials", settings.Credentials())
	d.Set("refreshMarginMs", float64(settings.RefreshMargin()))
	out := b.object.New()
	out.Set("handle", h)
	out.Set("description", d)
	return out
}

// jsNames are the JS options that set the fields of caspio.Config and caspio.Options: open
// reads them, and its config errors name them. (refreshMargin is in seconds and
// tokenTimeout in milliseconds; open reads them as refreshMarginMs and tokenTimeoutMs.)
var jsNames = caspio.FieldNames{
	Account: "account", IntegrationURL: "integrationUrl", TokenURL: "tokenUrl", ResourceURL: "resourceUrl",
	APIVersion: "apiVersion", ClientID: "clientId", ClientSecret: "clientSecret", Credentials: "credentials",
	RefreshMargin: "refreshMargin", Hold: "hold", TokenTimeout: "tokenTimeout",
}

// close(handle) forgets a client and its conversations. A flight of its in JS finds its
// conversation gone at its next call.
func (b *bridge) close(args []js.Value) any {
	h := idArg(args, 0)
	if _, ok := b.lookup(h, false); !ok {
		return nil
	}
	kept := b.entries[:0]
	for _, e := range b.entries {
		if e.id != h && e.client != h {
			kept = append(kept, e)
		}
	}
	clear(b.entries[len(kept):])
	b.entries = kept
	return nil
}

// withClient looks up the handle in args[0] and passes the rest on. (Not inlined: inlined,
// each export would get a copy of the closure, some 9 KB of the .wasm in all.)
//
//go:noinline
func withClient(fn func(b *bridge, h key, m *caspio.Machine, args []js.Value) any) func(*bridge, []js.Value) any {
	return func(b *bridge, args []js.Value) any {
		h := idArg(args, 0)
		e, ok := b.lookup(h, false)
		if !ok {
			return b.jsError(&caspio.ConfigError{Field: "client", Problem: "is closed", Fix: "create a new client with createClient"})
		}
		return fn(b, h, e.m, args[1:])
	}
}

// start makes token, authenticate and refresh: (handle, now) -> the first step.
//
//go:noinline
func start(begin func(*caspio.Machine, caspio.UnixMilli) *caspio.Conversation) func(*bridge, []js.Value) any {
	return withClient(func(b *bridge, h key, m *caspio.Machine, args []js.Value) any {
		return b.begin(h, begin(m, caspio.UnixMilli(numArg(args, 0))))
	})
}

// fetch(handle, {method, ref, oneShot, redirect, authorization, noRetry}, now) -> the first step.
func (b *bridge) fetch(h key, m *caspio.Machine, args []js.Value) any {
	r := arg(args, 0)
	return b.begin(h, m.Fetch(caspio.ResourceRequest{
		Method:        b.str(r, "method"),
		Ref:           b.str(r, "ref"),
		OneShot:       b.truthy(r, "oneShot"),
		Redirect:      b.str(r, "redirect"),
		Authorization: caspio.NewSecret(b.str(r, "authorization")),
		NoRetry:       b.truthy(r, "noRetry"),
	}, caspio.UnixMilli(numArg(args, 1))))
}

func (b *bridge) begin(h key, c *caspio.Conversation) any {
	return b.step(b.add(entry{client: h, c: c}), c.Step)
}

// next(handle, conversation, result) feeds a result and returns the next step. A result of
// the wrong shape ends the conversation, as a misuse does.
func (b *bridge) feed(h key, _ *caspio.Machine, args []js.Value) any {
	id := idArg(args, 0)
	cv, ok := b.lookup(id, true)
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
	cv, ok := b.lookup(id, true)
	if !ok || cv.client != h {
		return nil // ended already
	}
	return b.step(id, cv.c.Close)
}

// step runs f, which returns a step of conversation id, and encodes that step. The
// conversation is forgotten once it ended. A panic in f ends the conversation with it: the
// flight it ran lands (in the step's Landed), so that its joiners start over.
func (b *bridge) step(id key, f func() caspio.Step) (out any) {
	cv, _ := b.lookup(id, true)
	defer func() {
		if r := recover(); r != nil {
			b.remove(id)
			s := closeQuietly(cv.c)
			s.Kind, s.Err = caspio.StepFail, panicError("a conversation", r)
			out = b.encode(s, 0)
		}
	}()
	s := f()
	if s.Kind == caspio.StepDone || s.Kind == caspio.StepFail {
		b.remove(id)
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
		text = append(decimal.AppendInt(text, int64(id)), '}')
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
	u, err := m.Settings().ResolveURL(strArg(args, 0))
	if err != nil {
		return b.jsError(err)
	}
	return u
}

// apiError(status, requestId, body) returns the API error for a failed resource response.
func (b *bridge) apiError(args []js.Value) any {
	return b.jsError(caspio.NewAPIError(int(numArg(args, 0)), strArg(args, 1), b.toGo(arg(args, 2), 0)))
}

// showInput(field, value) returns value as a message may show it (caspio.ShowInput).
func (b *bridge) showInput(args []js.Value) any {
	return caspio.ShowInput(strArg(args, 0), strArg(args, 1))
}

// showUnknown(field, typed, valid) shows typed with the closest of valid, an array of
// names (caspio.ShowUnknown).
func (b *bridge) showUnknown(args []js.Value) any {
	list, _ := b.toGo(arg(args, 2), 0).([]any)
	valid := make([]string, 0, len(list))
	for _, v := range list {
		if s, ok := v.(string); ok {
			valid = append(valid, s)
		}
	}
	return caspio.ShowUnknown(strArg(args, 0), strArg(args, 1), valid)
}

// resourcePath(path) checks a proxy's resource path (caspio.ParseResourcePath): the
// reference spelled for Caspio and the decoded segments, one a line, or why it is refused,
// which never starts with "/". One string crosses: a proxy asks for every request.
func (b *bridge) resourcePath(args []js.Value) any {
	segments, problem := caspio.ParseResourcePath(strArg(args, 0))
	if problem != "" {
		return problem
	}
	out := caspio.ResourceRef(segments)
	for _, seg := range segments {
		out += "\n" + seg
	}
	return out
}

// badResourceChar(name) is caspio.BadResourceChar: "" when every character may be in a
// resource name, else the position and the description, a line each.
func (b *bridge) badResourceChar(args []js.Value) any {
	what, at := caspio.BadResourceChar(strArg(args, 0))
	if what == "" {
		return ""
	}
	return string(decimal.AppendInt(nil, int64(at))) + "\n" + what
}

// tokenFailure(status, refused, errorCode) is caspio.ProxyTokenFailure: the status, code
// and message of the proxy's answer, a line each.
func (b *bridge) tokenFailure(args []js.Value) any {
	answer, code, message := caspio.ProxyTokenFailure(int(numArg(args, 0)), arg(args, 1).Truthy(), strArg(args, 2))
	return string(decimal.AppendInt(nil, int64(answer))) + "\n" + code + "\n" + message
}

// compareStored(a, b) is caspio.CompareStored of two decoded states (null for none).
func (b *bridge) compareStored(args []js.Value) any {
	return caspio.CompareStored(b.toGo(arg(args, 0), 0), b.toGo(arg(args, 1), 0))
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

// page(handle, source, name, select, where, orderBy, groupBy, limit, pageSize, startPage,
// page, after, fetched, count, lastKey, total) runs the paging rules of a records read
// (caspio.Paging). With page 0 it starts the read; else page, after and fetched are the
// cursor of the request answered, and count, lastKey and total the facts of its answer
// (-1: no Result list, no PK_ID, no TotalCount; after 0: no key yet). select is q.select's
// text ("PK_ID, Total"), or a list: each field after a newline. It returns the text
// "url\npage\nafter\nfetched\nkeep\nsize": the next request's URL ("" when the read is
// over), the cursor to give back with its answer, and how many records of the page just
// read to hand out. Numbers and one string cross, not objects: a read makes this call once
// a page, and every property read or set would cross the boundary. Nothing stays in Go.
func (b *bridge) page(_ key, m *caspio.Machine, args []js.Value) any {
	query := caspio.Query{
		Where: strArg(args, 3), OrderBy: strArg(args, 4), GroupBy: strArg(args, 5),
		Limit: int(numArg(args, 6)), PageSize: int(numArg(args, 7)), StartPage: int(numArg(args, 8)),
	}
	switch sel := strArg(args, 2); {
	case sel == "":
	case sel[0] == '\n':
		query.Select = split(sel[1:], '\n')
	default:
		query.Select = split(sel, ',')
	}
	p, err := caspio.NewPaging(strArg(args, 0), strArg(args, 1), query)
	if ce, ok := err.(*caspio.ConfigError); ok && ce.Field != "" && ce.Field[0] >= 'A' && ce.Field[0] <= 'Z' {
		named := *ce // the JS option's name: pageSize, not PageSize
		named.Field = string(append([]byte{ce.Field[0] + 'a' - 'A'}, ce.Field[1:]...))
		err = &named
	}
	if err != nil {
		return b.jsError(err)
	}
	cur, keep := p.Start(), 0
	if n := numArg(args, 9); n >= 1 {
		cur = caspio.Cursor{Page: int(n), After: keyText(numArg(args, 10)), Fetched: int(numArg(args, 11))}
		facts := caspio.Page{Count: int(numArg(args, 12)), LastKey: keyText(numArg(args, 13)), Total: int(numArg(args, 14))}
		if cur, keep, err = p.Next(cur, facts); err != nil {
			return b.jsError(err)
		}
	}
	url := ""
	if !cur.Done {
		if url, err = m.Settings().ResolveURL(p.Ref(cur)); err != nil {
			return b.jsError(err)
		}
	}
	t := append(append(b.buf[:0], url...), '\n')
	t = append(decimal.AppendInt(t, int64(cur.Page)), '\n')
	t = append(append(t, cur.After...), '\n')
	t = append(decimal.AppendInt(t, int64(cur.Fetched)), '\n')
	t = append(decimal.AppendInt(t, int64(keep)), '\n')
	t = decimal.AppendInt(t, int64(p.Size()))
	b.buf = t
	return string(t)
}

// split is strings.Split for a one-byte sep. A loop: the bridge does not import strings,
// whose init code (io's and unicode's) the core does not need either.
func split(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// keyText is a PK_ID given as a number in the text the core reads; "" for none (a number
// below 1, or not whole).
func keyText(f float64) string {
	if f < 1 || f > 1<<53 || f != float64(int64(f)) {
		return ""
	}
	return string(decimal.AppendInt(nil, int64(f)))
}

// recordsRef(handle, op, table, where, returnRows) returns the URL of a write
// (caspio.RecordsRef), or its config error.
func (b *bridge) recordsRef(_ key, m *caspio.Machine, args []js.Value) any {
	ref, err := caspio.RecordsRef(strArg(args, 0), strArg(args, 1), strArg(args, 2), arg(args, 3).Truthy())
	if err == nil {
		ref, err = m.Settings().ResolveURL(ref)
	}
	if err != nil {
		return b.jsError(err)
	}
	return ref
}

// recordsError(status, requestId, body, table) returns the API error of a records call,
// with table and field set when it says that one of them does not exist (caspio.Missing):
// "" otherwise.
func (b *bridge) recordsError(args []js.Value) any {
	e := caspio.NewAPIError(int(numArg(args, 0)), strArg(args, 1), b.toGo(arg(args, 2), 0))
	table, field := caspio.Missing(e, strArg(args, 3))
	v := b.jsError(e)
	v.Set("table", table)
	v.Set("field", field)
	return v
}

// insertOutcome(status) says what the answer to one insert says of its record.
func (b *bridge) insertOutcome(args []js.Value) any {
	return caspio.InsertOutcome(int(numArg(args, 0)))
}
