//go:build !(js && wasm)

package main

import "io"

// readStreamed reads a body from a JavaScript stream in a Worker build; elsewhere there is
// none, and readBody reads the body as an io.Reader.
func readStreamed(io.Reader, int) (data []byte, tooLarge, ok bool, err error) {
	return nil, false, false, nil
}
