package sandbox_test

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio/sandbox"
)

func TestTokenEndpoint(t *testing.T) {
	ccBody := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}}
	ccOnly := url.Values{"grant_type": {"client_credentials"}}
	b64 := base64.StdEncoding.EncodeToString
	cases := []struct {
		name        string
		form        url.Values
		rawBody     string // sent instead of form when set
		contentType string // default form
		auth        string
		status      int
		err         string // OAuth error code; "" means success
		challenge   bool   // WWW-Authenticate: Basic expected
	}{
		{name: "credentials in body", form: ccBody, status: 200},
		{name: "credentials in Basic header", form: ccOnly, auth: basic(clientID, clientSecret), status: 200},
		{name: "scheme is case-insensitive", form: ccOnly, auth: "basic " + b64([]byte(clientID+":"+clientSecret)), status: 200},
		{name: "header and matching body", form: ccBody, auth: basic(clientID, clientSecret), status: 200},
		{name: "form content type with charset", form: ccBody, contentType: "application/x-www-form-urlencoded; charset=utf-8", status: 200},
		{name: "header and body disagree", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"other"}}, auth: basic(clientID, clientSecret), status: 400, err: "invalid_request"},
		{name: "wrong secret in body", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {"nope"}}, status: 401, err: "invalid_client"},
		{name: "unknown client in body", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"someone"}, "client_secret": {clientSecret}}, status: 401, err: "invalid_client"},
		{name: "wrong secret in Basic", form: ccOnly, auth: basic(clientID, "nope"), status: 401, err: "invalid_client", challenge: true},
		{name: "Basic without padding", form: ccOnly, auth: "Basic " + base64.RawStdEncoding.EncodeToString([]byte(clientID+":"+clientSecret+"x")), status: 401, err: "invalid_client", challenge: true},
		{name: "Basic in URL-safe alphabet", form: ccOnly, auth: "Basic " + base64.URLEncoding.EncodeToString([]byte("\xfb\xff:x")), status: 401, err: "invalid_client", challenge: true},
		{name: "Basic with a tab inside", form: ccOnly, auth: "Basic " + b64([]byte(clientID + ":"))[:8] + "\t" + b64([]byte(clientID + ":"))[8:], status: 401, err: "invalid_client", challenge: true},
		{name: "Basic without colon", form: ccOnly, auth: "Basic " + b64([]byte(clientID+clientSecret)), status: 401, err: "invalid_client", challenge: true},
		{name: "Bearer instead of Basic", form: ccOnly, auth: "Bearer abc", status: 401, err: "invalid_client", challenge: true},
		{name: "no credentials", form: ccOnly, status: 400, err: "invalid_request"},
		{name: "no client_secret", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}}, status: 400, err: "invalid_request"},
		{name: "no grant_type", form: url.Values{"client_id": {clientID}, "client_secret": {clientSecret}}, status: 400, err: "invalid_request"},
		{name: "unsupported grant_type", form: url.Values{"grant_type": {"password"}, "client_id": {clientID}, "client_secret": {clientSecret}}, status: 400, err: "unsupported_grant_type"},
		{name: "refresh without refresh_token", form: url.Values{"grant_type": {"refresh_token"}}, auth: basic(clientID, clientSecret), status: 400, err: "invalid_request"},
		{name: "unknown refresh token", form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"made-up"}}, auth: basic(clientID, clientSecret), status: 400, err: "invalid_grant"},
		{name: "refresh with wrong client", form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"made-up"}}, auth: basic(clientID, "nope"), status: 401, err: "invalid_client", challenge: true},
		{name: "JSON body", rawBody: `{"grant_type":"client_credentials"}`, contentType: "application/json", auth: basic(clientID, clientSecret), status: 400, err: "invalid_request"},
		{name: "parameter twice", rawBody: ccBody.Encode() + "&grant_type=client_credentials", status: 400, err: "invalid_request"},
		{name: "bad percent-encoding", rawBody: "grant_type=client_credentials&client_id=%zz", status: 400, err: "invalid_request"},
	}
	_, base := start(t, sandbox.Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.rawBody
			if body == "" {
				body = tc.form.Encode()
			}
			req, err := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(body))
			require.NoError(t, err)
			ct := tc.contentType
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			req.Header.Set("Content-Type", ct)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			r := do(t, req)
			require.Equal(t, tc.status, r.status, "body: %s", r.body)
			m := r.json(t)
			assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
			if tc.err == "" {
				assert.Equal(t, "application/json;charset=UTF-8", r.header.Get("Content-Type"))
				assert.Equal(t, "bearer", m["token_type"])
				assert.Equal(t, float64(86399), m["expires_in"])
				assertOpaqueToken(t, m["access_token"])
				assertOpaqueToken(t, m["refresh_token"])
				assert.NotEqual(t, m["access_token"], m["refresh_token"])
				return
			}
			assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			assert.Equal(t, tc.err, m["error"])
			assert.NotEmpty(t, m["error_description"])
			assert.NotContains(t, string(r.body), clientSecret, "an error must not echo the secret")
			if tc.challenge {
				assert.Equal(t, `Basic realm="caspio"`, r.header.Get("WWW-Authenticate"))
			} else {
				assert.Empty(t, r.header.Get("WWW-Authenticate"))
			}
		})
	}
}

var opaqueToken = regexp.MustCompile(`^[A-Za-z0-9_-]{43,}$`)

func assertOpaqueToken(t *testing.T, v any) {
	t.Helper()
	s, ok := v.(string)
	require.True(t, ok, "token %v is not a string", v)
	assert.Regexp(t, opaqueToken, s, "a URL-safe token with at least 32 bytes of entropy")
}

// A Basic value folded over two lines (a MIME line break) must be refused even though
// Go's base64 decoder would skip the break. Go's HTTP client refuses to send such a
// header, so this test writes the request by hand.
func TestTokenBasicWithLineBreak(t *testing.T) {
	_, base := start(t, sandbox.Options{})
	enc := base64.StdEncoding.EncodeToString([]byte(clientID + ":" + clientSecret))
	body := "grant_type=client_credentials"
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = fmt.Fprintf(conn, "POST /oauth/token HTTP/1.1\r\nHost: sandbox\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
		"Authorization: Basic %s\r\n %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", enc[:12], enc[12:], len(body), body)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	// Go's server unfolds the header into one line with a space, which Go's base64
	// decoder would not skip; the sandbox must refuse it as invalid_client.
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, `Basic realm="caspio"`, resp.Header.Get("WWW-Authenticate"))
}

func TestTokenWrongMethodAndPreflight(t *testing.T) {
	_, base := start(t, sandbox.Options{})
	r := call(t, http.MethodGet, base+"/oauth/token", "", "")
	assert.Equal(t, http.StatusMethodNotAllowed, r.status)
	assert.Contains(t, r.header.Get("Allow"), "POST")

	req, err := http.NewRequest(http.MethodOptions, base+"/oauth/token", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "https://admin.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	r = do(t, req)
	assert.Equal(t, http.StatusNoContent, r.status)
	assert.Equal(t, "https://admin.example", r.header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, r.header.Get("Access-Control-Allow-Headers"), "Authorization")
	assert.Contains(t, r.header.Get("Access-Control-Allow-Headers"), "Content-Type")
}

func TestRefresh(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		t.Run(fmt.Sprintf("rotate=%v", rotate), func(t *testing.T) {
			sb, base := start(t, sandbox.Options{RotateRefreshTokens: rotate})
			access, rt := tokens(t, base)

			r := refresh(t, base, rt)
			require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
			m := r.json(t)
			assert.NotEqual(t, access, m["access_token"])
			newRT, rotated := m["refresh_token"]
			assert.Equal(t, rotate, rotated, "refresh_token in the response")

			again := refresh(t, base, rt)
			if rotate {
				assert.Equal(t, http.StatusBadRequest, again.status, "the old refresh token is retired")
				assert.Equal(t, "invalid_grant", again.json(t)["error"])
				assert.Equal(t, http.StatusOK, refresh(t, base, newRT.(string)).status)
			} else {
				assert.Equal(t, http.StatusOK, again.status, "the client keeps its refresh token")
			}
			refreshes, successes := 2, 2 // without rotation, both refreshes succeed
			if rotate {
				refreshes, successes = 3, 2
			}
			st := sb.Stats()
			assert.Equal(t, 1, st.TokenRequests["client_credentials"])
			assert.Equal(t, refreshes, st.TokenRequests["refresh_token"])
			assert.Equal(t, 1, st.RefreshTokensLive)
			assert.Equal(t, 1+successes, st.AccessTokensMinted)
		})
	}
}

func TestRefreshWithBodyCredentials(t *testing.T) {
	_, base := start(t, sandbox.Options{})
	_, rt := tokens(t, base)
	r := postToken(t, base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {clientID}, "client_secret": {clientSecret}}, "")
	assert.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
}

func TestRefreshTokenCap(t *testing.T) {
	sb, base := start(t, sandbox.Options{RefreshTokenCap: 5})
	var rts []string
	for range 7 {
		_, rt := tokens(t, base)
		rts = append(rts, rt)
	}
	st := sb.Stats()
	assert.Equal(t, 7, st.RefreshTokensMinted)
	assert.Equal(t, 5, st.RefreshTokensLive)
	assert.Equal(t, 2, st.RefreshTokensEvicted)
	for i, rt := range rts {
		r := refresh(t, base, rt)
		if i < 2 {
			assert.Equal(t, http.StatusBadRequest, r.status, "token %d was evicted", i)
			assert.Equal(t, "invalid_grant", r.json(t)["error"])
		} else {
			assert.Equal(t, http.StatusOK, r.status, "token %d is live", i)
		}
	}
}

func TestRefreshTokenExpiry(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		name   string
		used   bool // refresh once right after issue
		after  time.Duration
		status int
	}{
		{"unused, 59 days", false, 59 * day, 200},
		{"unused, 60 days", false, 60 * day, 401},
		{"used, 61 days", true, 61 * day, 200},
		{"used, 364 days", true, 364 * day, 200},
		{"used, 365 days", true, 365 * day, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sb, base := start(t, sandbox.Options{})
			_, rt := tokens(t, base)
			if tc.used {
				require.Equal(t, http.StatusOK, refresh(t, base, rt).status)
			}
			sb.Advance(tc.after)
			r := refresh(t, base, rt)
			require.Equal(t, tc.status, r.status, "body: %s", r.body)
			if tc.status == 401 {
				assert.Equal(t, "invalid_grant", r.json(t)["error"])
				assert.Equal(t, 0, sb.Stats().RefreshTokensLive)
			}
		})
	}
}

func TestRevokeTokens(t *testing.T) {
	sb, base := start(t, sandbox.Options{})
	access, rt := tokens(t, base)
	require.Equal(t, http.StatusOK, call(t, http.MethodGet, base+"/rest/v2/tables", access, "").status)
	sb.RevokeTokens()
	assert.Equal(t, http.StatusUnauthorized, call(t, http.MethodGet, base+"/rest/v2/tables", access, "").status)
	r := refresh(t, base, rt)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "invalid_grant", r.json(t)["error"])
}

func TestTokenRequestStats(t *testing.T) {
	sb, base := start(t, sandbox.Options{TokenTTL: 90 * time.Second})
	r := postToken(t, base, url.Values{"grant_type": {"client_credentials"}}, basic(clientID, clientSecret))
	assert.Equal(t, float64(90), r.json(t)["expires_in"], "TokenTTL sets expires_in")
	postToken(t, base, url.Values{"grant_type": {"password"}}, basic(clientID, clientSecret))
	postToken(t, base, url.Values{"grant_type": {"password"}}, basic(clientID, clientSecret))
	postToken(t, base, url.Values{}, basic(clientID, clientSecret))
	assert.Equal(t, map[string]int{"client_credentials": 1, "password": 2, "(none)": 1}, sb.Stats().TokenRequests)
}
