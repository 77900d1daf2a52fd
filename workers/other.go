//go:build !(js && wasm)

package workers

import (
	"net/http"

	"github.com/caspio-auth/caspio/client"
)

// fetchTransport outside a Worker: there is no fetch to call.
type fetchTransport struct{}

func (fetchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return nil, ErrNotInWorker
}

func newKVStore(binding, key string) (client.Store, error) { return nil, ErrNotInWorker }

func newBrokerStore(binding, name string) (client.Store, error) { return nil, ErrNotInWorker }
