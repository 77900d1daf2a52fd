//go:build js && wasm

package main

import (
	"errors"
	"io"
	"syscall/js"
)

// rawJSBody is what syumai/workers' request body offers besides io.Reader: the JavaScript
// ReadableStream itself.
type rawJSBody interface {
	GetRawJSBody() js.Value
}

// readStreamed reads a request body straight from its JavaScript stream, with a BYOB
// reader into one JavaScript buffer of limit+1 bytes, counting as it fills: a body over the
// limit is cancelled there, having cost no Go memory and at most limit bytes of the
// buffer, and one within it is copied into Go once. Reading into one buffer also spares a
// JavaScript object and a trip into Go per chunk. ok is false when body is not such a
// stream.
func readStreamed(body io.Reader, limit int) (data []byte, tooLarge, ok bool, err error) {
	raw, isJS := body.(rawJSBody)
	if !isJS {
		return nil, false, false, nil
	}
	stream := raw.GetRawJSBody()
	if stream.IsNull() || stream.IsUndefined() {
		return nil, false, true, nil
	}
	reader, err := byobReader(stream)
	if err != nil {
		return nil, false, false, nil // not a byte stream: read it as an io.Reader
	}
	buffer := js.Global().Get("ArrayBuffer").New(limit + 1)
	uint8Array := js.Global().Get("Uint8Array")
	filled := 0
	for {
		result, err := await(reader.Call("read", uint8Array.New(buffer, filled, limit+1-filled)))
		if err != nil {
			return nil, false, true, err
		}
		// The buffer is handed back with the bytes read into it.
		if view := result.Get("value"); !view.IsUndefined() {
			buffer = view.Get("buffer")
			filled += view.Get("byteLength").Int()
		}
		if result.Get("done").Bool() {
			break
		}
		if filled > limit {
			reader.Call("cancel").Call("catch", js.FuncOf(func(js.Value, []js.Value) any { return nil }))
			return nil, true, true, nil
		}
	}
	data = make([]byte, filled)
	js.CopyBytesToGo(data, uint8Array.New(buffer, 0, filled))
	return data, false, true, nil
}

// byobReader returns a BYOB reader of stream, or an error when stream is not a byte stream.
func byobReader(stream js.Value) (reader js.Value, err error) {
	defer func() {
		if recover() != nil {
			err = errors.New("not a byte stream")
		}
	}()
	return stream.Call("getReader", map[string]any{"mode": "byob"}), nil
}

// await waits for a JavaScript promise. A Go Worker runs each request in a Go instance of
// its own, so waiting here blocks no other request.
func await(promise js.Value) (js.Value, error) {
	done := make(chan struct{})
	var result js.Value
	var err error
	var onOK, onErr js.Func
	onOK = js.FuncOf(func(_ js.Value, args []js.Value) any {
		result = args[0]
		close(done)
		return nil
	})
	onErr = js.FuncOf(func(js.Value, []js.Value) any {
		err = errors.New("the request body stream failed")
		close(done)
		return nil
	})
	promise.Call("then", onOK, onErr)
	<-done
	onOK.Release()
	onErr.Release()
	return result, err
}
