package sandbox_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio/sandbox"
)

// control sends a control API request with an optional JSON body.
func control(t *testing.T, method, u, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	return do(t, req)
}

func TestControlClock(t *testing.T) {
	sb, base := start(t, sandbox.Options{})
	day := 24 * time.Hour
	cases := []struct {
		method, query string
		status        int
		moved         time.Duration // total offset expected afterwards
	}{
		{http.MethodGet, "", 200, 0},
		{http.MethodPost, "?advance=25h", 200, 25 * time.Hour},
		{http.MethodPost, "?advance=61d", 200, 25*time.Hour + 61*day},
		{http.MethodPost, "?advance=1d12h", 200, 25*time.Hour + 62*day + 12*time.Hour},
		{http.MethodPost, "?advance=-62d", 200, 25*time.Hour + 12*time.Hour},
		{http.MethodPost, "?advance=soon", 400, 37 * time.Hour},
		{http.MethodPost, "?advance=5x", 400, 37 * time.Hour},
		{http.MethodPost, "?advance=99999d", 400, 37 * time.Hour},
		{http.MethodPost, "", 400, 37 * time.Hour},
		{http.MethodPut, "?advance=1h", 405, 37 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.method+tc.query, func(t *testing.T) {
			r := control(t, tc.method, base+"/__sandbox/clock"+tc.query, "")
			require.Equal(t, tc.status, r.status, "body: %s", r.body)
			m := r.json(t)
			if tc.status != 200 {
				assert.NotEmpty(t, m["error"])
			} else {
				now, err := time.Parse(time.RFC3339, m["now"].(string))
				require.NoError(t, err)
				assert.WithinDuration(t, time.Now().Add(tc.moved), now, 5*time.Second)
			}
			assert.WithinDuration(t, time.Now().Add(tc.moved), sb.Now(), 5*time.Second)
		})
	}
}

func TestControlClockExpiresAccessToken(t *testing.T) {
	_, base := start(t, sandbox.Options{})
	access, _ := tokens(t, base)
	require.Equal(t, http.StatusOK, control(t, http.MethodPost, base+"/__sandbox/clock?advance=23h", "").status)
	assert.Equal(t, http.StatusOK, call(t, http.MethodGet, base+"/rest/v2/tables", access, "").status)
	require.Equal(t, http.StatusOK, control(t, http.MethodPost, base+"/__sandbox/clock?advance=1h", "").status)
	assert.Equal(t, http.StatusUnauthorized, call(t, http.MethodGet, base+"/rest/v2/tables", access, "").status)
}

func TestControlFaults(t *testing.T) {
	_, base := start(t, sandbox.Options{})
	u := base + "/__sandbox/faults"
	queued := func(t *testing.T, r reply) []any {
		t.Helper()
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		return r.json(t)["faults"].([]any)
	}

	faults := queued(t, control(t, http.MethodPost, u, `{"route":"/oauth/token","status":503,"retry_after":"1","count":2}`))
	require.Len(t, faults, 1)
	assert.Equal(t, float64(2), faults[0].(map[string]any)["count"])

	faults = queued(t, control(t, http.MethodPost, u, `[{"route":"/rest/v2/","delay_ms":10},{"route":"/rest/v2/","body":"oops"}]`))
	require.Len(t, faults, 3)
	assert.Equal(t, float64(1), faults[1].(map[string]any)["count"], "count defaults to 1")

	for _, bad := range []string{
		`{"route":"/oauth/token","stauts":503}`, // misspelt field
		`[{"route":"/rest/"},{"route":"nope"}]`, // one invalid fault: none queued
		`{"route":"/rest/","status":"503"}`,     // wrong type
		`[]`,                                    // nothing to queue
		`not json`,                              // not JSON
		`{"route":"/rest/","status":503} {"route":"/rest/"}`, // two values
	} {
		r := control(t, http.MethodPost, u, bad)
		assert.Equal(t, http.StatusBadRequest, r.status, "body %s answered %s", bad, r.body)
		assert.NotEmpty(t, r.json(t)["error"])
	}
	assert.Len(t, queued(t, control(t, http.MethodGet, u, "")), 3, "rejected faults queue nothing")

	// The queued token fault takes effect, and counts down.
	r := postToken(t, base, url.Values{"grant_type": {"client_credentials"}}, basic(clientID, clientSecret))
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Equal(t, float64(1), queued(t, control(t, http.MethodGet, u, ""))[0].(map[string]any)["count"])

	assert.Empty(t, queued(t, control(t, http.MethodDelete, u, "")))
	r = postToken(t, base, url.Values{"grant_type": {"client_credentials"}}, basic(clientID, clientSecret))
	assert.Equal(t, http.StatusOK, r.status, "cleared faults no longer apply")
}

func TestControlStatsRevokeReset(t *testing.T) {
	sb, base := start(t, sandbox.Options{})
	access, rt := tokens(t, base)
	orders := base + "/rest/v2/tables/Orders/records"
	r := call(t, http.MethodDelete, orders+"?q.where=PK_ID%3C%3D10", access, "")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	call(t, http.MethodGet, base+"/rest/v2/tables", "", "")

	stats := control(t, http.MethodGet, base+"/__sandbox/stats", "")
	require.Equal(t, http.StatusOK, stats.status)
	assert.Equal(t, map[string]any{
		"token_requests":         map[string]any{"client_credentials": 1.0},
		"refresh_tokens_minted":  1.0,
		"refresh_tokens_live":    1.0,
		"refresh_tokens_evicted": 0.0,
		"access_tokens_minted":   1.0,
		"resource_requests":      2.0,
		"unauthorized":           1.0,
	}, stats.json(t))

	require.Equal(t, http.StatusOK, control(t, http.MethodPost, base+"/__sandbox/revoke", "").status)
	assert.Equal(t, http.StatusUnauthorized, call(t, http.MethodGet, base+"/rest/v2/tables", access, "").status)
	assert.Equal(t, http.StatusBadRequest, refresh(t, base, rt).status)
	assert.Equal(t, 0, sb.Stats().RefreshTokensLive)

	require.NoError(t, sb.InjectFault(sandbox.Fault{Route: "/rest/", Status: 500}))
	sb.Advance(48 * time.Hour)
	require.Equal(t, http.StatusOK, control(t, http.MethodPost, base+"/__sandbox/reset", "").status)
	assert.Equal(t, sandbox.Stats{TokenRequests: map[string]int{}}, sb.Stats())
	assert.WithinDuration(t, time.Now(), sb.Now(), 5*time.Second, "the clock is back")
	access, _ = tokens(t, base)
	recs := resultOf(t, call(t, http.MethodGet, orders+"?q.where=PK_ID%3C%3D10", access, ""))
	assert.Len(t, recs, 10, "the deleted records are back and the fault is gone")
}

func TestControlRoutes(t *testing.T) {
	_, base := start(t, sandbox.Options{})
	r := control(t, http.MethodGet, base+"/__sandbox/", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.json(t)["routes"], "POST /__sandbox/reset")

	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/__sandbox", 200},
		{http.MethodGet, "/__sandbox/nope", 404},
		{http.MethodGet, "/__sandbox/reset", 405},
		{http.MethodPost, "/__sandbox/stats", 405},
		{http.MethodGet, "/__sandbox/revoke", 405},
	} {
		r := control(t, tc.method, base+tc.path, "")
		assert.Equal(t, tc.status, r.status, "%s %s", tc.method, tc.path)
		if tc.status == 405 {
			assert.NotEmpty(t, r.header.Get("Allow"))
		}
	}
}
