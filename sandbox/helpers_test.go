package sandbox_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio/sandbox"
)

const (
	clientID     = sandbox.DefaultClientID
	clientSecret = sandbox.DefaultClientSecret
)

// start runs a sandbox on loopback for the test.
func start(t *testing.T, opts sandbox.Options) (*sandbox.Server, string) {
	t.Helper()
	sb := sandbox.New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return sb, srv.URL
}

// reply is a response with its body read.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body as a JSON object.
func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{resp.StatusCode, resp.Header, body}
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// postToken sends a form to the token endpoint, with an Authorization header if auth
// is not empty.
func postToken(t *testing.T, base string, form url.Values, auth string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return do(t, req)
}

// tokens gets an access and a refresh token with client_credentials.
func tokens(t *testing.T, base string) (access, refresh string) {
	t.Helper()
	r := postToken(t, base, url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}}, "")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	m := r.json(t)
	return m["access_token"].(string), m["refresh_token"].(string)
}

// refresh uses a refresh token with the Basic header.
func refresh(t *testing.T, base, rt string) reply {
	t.Helper()
	return postToken(t, base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, basic(clientID, clientSecret))
}

// call sends a resource request with a bearer token (none if empty) and an optional
// JSON body.
func call(t *testing.T, method, u, token, body string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(t, req)
}
