package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// resourceBody is the answer to every request, the size of a short list of tables.
const resourceBody = `{"Result":["Customers","Orders","Products"]}`

// resourceServer serves a minimal resource endpoint on 127.0.0.1 until stdin closes (the
// parent closes it, or dies), so that peers can measure a client's CPU without the
// server's. It checks no token: every request gets the same 200.
func resourceServer(stdin io.Reader, out io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	length := strconv.Itoa(len(resourceBody))
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("Content-Length", length)
			_, _ = io.WriteString(w, resourceBody)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
	}
	if _, err := fmt.Fprintf(out, "listening on http://%s\n", ln.Addr()); err != nil {
		return err
	}
	go func() { _ = srv.Serve(ln) }()
	_, _ = io.Copy(io.Discard, stdin)
	return srv.Close()
}
