package caspio_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
)

// The shared vectors in tests/vectors drive this file and the JS suites alike; see
// tests/vectors/README.md for their format.

const vectorDir = "tests/vectors"

// vectorConfig is a config in the vectors' JS option names.
type vectorConfig struct {
	Account         string `json:"account"`
	IntegrationURL  string `json:"integrationUrl"`
	TokenURL        string `json:"tokenUrl"`
	ResourceURL     string `json:"resourceUrl"`
	APIVersion      string `json:"apiVersion"`
	ClientID        string `json:"clientId"`
	ClientSecret    string `json:"clientSecret"`
	Credentials     string `json:"credentials"`
	RefreshMarginMS int64  `json:"refreshMarginMs"`
}

func (v vectorConfig) config() caspio.Config {
	return caspio.Config{
		Account: v.Account, IntegrationURL: v.IntegrationURL, TokenURL: v.TokenURL, ResourceURL: v.ResourceURL,
		APIVersion: v.APIVersion, ClientID: v.ClientID, ClientSecret: caspio.NewSecret(v.ClientSecret),
		Credentials: v.Credentials, RefreshMargin: caspio.Millis(v.RefreshMarginMS),
	}
}

func (v vectorConfig) settings(t *testing.T) *caspio.Settings {
	t.Helper()
	f, err := caspio.NewSettings(v.config())
	require.NoError(t, err)
	return f
}

// vectorError is an expected error.
type vectorError struct {
	Kind      string  `json:"kind"`
	Field     *string `json:"field"`
	Status    *int    `json:"status"`
	ErrorCode string  `json:"error_code"`
	// MustNotContain are parts of the input that neither the message nor any field of the
	// error may show: a value that may be a credential is described, never quoted.
	MustNotContain []string `json:"must_not_contain"`
}

// loadVectors decodes tests/vectors/name into a struct with a Cases slice.
func loadVectors[T any](t *testing.T, name string) []T {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(vectorDir, name))
	require.NoError(t, err)
	var file struct{ Cases []T }
	require.NoError(t, json.Unmarshal(data, &file), name)
	require.NotEmpty(t, file.Cases, name)
	return file.Cases
}

// decodeJSON decodes text the way a host does, reporting whether it was JSON.
func decodeJSON(text string) (any, bool) {
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, false
	}
	return v, true
}

// parseVectorState reads a state given in a vector; null means the zero State.
func parseVectorState(t *testing.T, raw json.RawMessage) caspio.State {
	t.Helper()
	if len(raw) == 0 || string(raw) == "null" {
		return caspio.State{}
	}
	v, ok := decodeJSON(string(raw))
	require.True(t, ok)
	s, err := caspio.ParseState(v)
	require.NoError(t, err)
	return s
}

// assertEncodes checks that s encodes to exactly the JSON of want.
func assertEncodes(t *testing.T, want json.RawMessage, s caspio.State) {
	t.Helper()
	got, err := json.Marshal(s.Encode())
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got))
}

// assertVectorError checks err against want, and that neither its message nor its fields
// hold a secret.
func assertVectorError(t *testing.T, want vectorError, err error) {
	t.Helper()
	require.Error(t, err)
	shown := errorTexts(err)
	for _, text := range shown {
		assert.NotContains(t, text, "SECRET", "an error must not show a secret")
		for _, part := range want.MustNotContain {
			assert.NotContains(t, text, part, "an error must not show this part of the input")
		}
	}
	var kinded interface{ Kind() string }
	require.True(t, errors.As(err, &kinded), "error %T has no Kind", err)
	assert.Equal(t, want.Kind, kinded.Kind(), err.Error())
	field, status, code := errorDetails(err)
	if want.Field != nil {
		assert.Equal(t, *want.Field, field, err.Error())
	}
	if want.Status != nil {
		assert.Equal(t, *want.Status, status, err.Error())
	}
	if want.ErrorCode != "" {
		assert.Equal(t, want.ErrorCode, code, err.Error())
	}
}

// errorTexts returns the message of err and every text field of the core's error in it.
func errorTexts(err error) []string {
	texts := []string{err.Error()}
	var (
		ce *caspio.ConfigError
		re *caspio.ResponseError
		oe *caspio.OAuthError
		ae *caspio.APIError
		se *caspio.StateError
		ue *caspio.URLError
	)
	switch {
	case errors.As(err, &ce):
		texts = append(texts, ce.Field, ce.Problem, ce.Fix)
	case errors.As(err, &re):
		texts = append(texts, re.Field, re.Problem, re.Location)
	case errors.As(err, &oe):
		texts = append(texts, oe.Grant, oe.ErrorCode, oe.Description, oe.URI)
	case errors.As(err, &ae):
		texts = append(texts, ae.Code, ae.Message, ae.Resource, ae.RequestID)
	case errors.As(err, &se):
		texts = append(texts, se.Field, se.Problem)
	case errors.As(err, &ue):
		texts = append(texts, ue.Ref, ue.Problem)
	}
	return texts
}

func errorDetails(err error) (field string, status int, code string) {
	var (
		ce *caspio.ConfigError
		re *caspio.ResponseError
		oe *caspio.OAuthError
		ae *caspio.APIError
		se *caspio.StateError
	)
	switch {
	case errors.As(err, &ce):
		return ce.Field, 0, ""
	case errors.As(err, &re):
		return re.Field, re.Status, ""
	case errors.As(err, &oe):
		return "", oe.Status, oe.ErrorCode
	case errors.As(err, &ae):
		return "", ae.Status, ae.Code
	case errors.As(err, &se):
		return se.Field, 0, ""
	}
	return "", 0, ""
}

func TestVectorsConfig(t *testing.T) {
	type expect struct {
		TokenURL        string `json:"token_url"`
		ResourceBase    string `json:"resource_base"`
		ResourceOrigin  string `json:"resource_origin"`
		APIVersion      string `json:"api_version"`
		Credentials     string `json:"credentials"`
		RefreshMarginMS int64  `json:"refresh_margin_ms"`
	}
	for _, c := range loadVectors[struct {
		Name   string
		Config vectorConfig
		Expect *expect
		Error  *vectorError
	}](t, "config.json") {
		t.Run(c.Name, func(t *testing.T) {
			f, err := caspio.NewSettings(c.Config.config())
			if err == nil {
				_, err = caspio.NewMachine(f, caspio.Options{}) // a client: one without a secret is refused there
			}
			if c.Error != nil {
				assertVectorError(t, *c.Error, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, *c.Expect, expect{
				TokenURL: f.TokenURL(), ResourceBase: f.ResourceBase(), ResourceOrigin: f.ResourceOrigin(),
				APIVersion: f.APIVersion(), Credentials: f.Credentials(), RefreshMarginMS: int64(f.RefreshMargin()),
			})
		})
	}
}

func TestVectorsTokenRequests(t *testing.T) {
	for _, c := range loadVectors[struct {
		Name   string
		Config vectorConfig
		Action caspio.Action
		State  json.RawMessage
		Expect struct {
			Method, URL, Grant, Body string
			Headers                  map[string]string
		}
	}](t, "token_requests.json") {
		t.Run(c.Name, func(t *testing.T) {
			req := c.Config.settings(t).TokenRequest(c.Action, parseVectorState(t, c.State))
			assert.Equal(t, c.Expect.Method, req.Method)
			assert.Equal(t, c.Expect.URL, req.URL)
			assert.Equal(t, c.Expect.Grant, req.Grant)
			headers := map[string]string{}
			for name, value := range req.Header {
				headers[name] = value
			}
			if !req.Authorization.IsZero() {
				headers["Authorization"] = req.Authorization.Reveal()
			}
			assert.Equal(t, c.Expect.Headers, headers)
			assert.Equal(t, c.Expect.Body, req.Body.Reveal())
			assert.NotContains(t, req.String(), "SECRET")
		})
	}
}

// vectorResponse is a token endpoint response in a vector.
type vectorResponse struct {
	Status      int     `json:"status"`
	ContentType string  `json:"content_type"`
	BodyText    *string `json:"body_text"`
	RetryAfter  string  `json:"retry_after"`
	Location    string  `json:"location"`
}

func (v vectorResponse) response() caspio.Response {
	r := caspio.Response{Status: v.Status, ContentType: v.ContentType, RetryAfter: v.RetryAfter, Location: v.Location}
	if v.Status == 0 {
		r.Err = errors.New("connection refused")
		return r
	}
	text := ""
	if v.BodyText != nil {
		text = *v.BodyText
	}
	body, ok := decodeJSON(text)
	r.Body, r.NotJSON = body, !ok
	return r
}

func TestVectorsTokenResponses(t *testing.T) {
	for _, c := range loadVectors[struct {
		Name     string
		Config   vectorConfig
		Action   caspio.Action
		State    json.RawMessage
		Response vectorResponse
		Now      caspio.UnixMilli
		Attempt  int
		Jitter   float64
		Expect   struct {
			State  json.RawMessage
			Error  *vectorError
			Retry  bool
			WaitMS int64 `json:"wait_ms"`
		}
	}](t, "token_responses.json") {
		t.Run(c.Name, func(t *testing.T) {
			res := c.Config.settings(t).HandleTokenResponse(c.Action, parseVectorState(t, c.State), c.Response.response(), c.Now, c.Attempt, c.Jitter)
			assertEncodes(t, c.Expect.State, res.State)
			if c.Expect.Error == nil {
				require.NoError(t, res.Err)
			} else {
				assertVectorError(t, *c.Expect.Error, res.Err)
			}
			assert.Equal(t, c.Expect.Retry, res.Retry, "retry")
			assert.Equal(t, caspio.Millis(c.Expect.WaitMS), res.Wait, "wait")
		})
	}
}

func TestVectorsDecisions(t *testing.T) {
	for _, c := range loadVectors[struct {
		Name   string
		Config vectorConfig
		State  json.RawMessage
		Now    caspio.UnixMilli
		Expect struct {
			Action        caspio.Action
			Authorization string
			ValidUntil    caspio.UnixMilli `json:"valid_until"`
		}
	}](t, "decisions.json") {
		t.Run(c.Name, func(t *testing.T) {
			d := c.Config.settings(t).Decide(parseVectorState(t, c.State), c.Now)
			assert.Equal(t, c.Expect.Action, d.Action)
			assert.Equal(t, c.Expect.Authorization, d.Lease.Authorization.Reveal())
			assert.Equal(t, c.Expect.ValidUntil, d.Lease.ValidUntil)
		})
	}
}

func TestVectorsUnauthorized(t *testing.T) {
	for _, c := range loadVectors[struct {
		Name   string
		Config vectorConfig
		State  json.RawMessage
		Sent   string
		Expect struct {
			Revoked bool
			State   json.RawMessage
		}
	}](t, "unauthorized.json") {
		t.Run(c.Name, func(t *testing.T) {
			next, revoked := c.Config.settings(t).Unauthorized(parseVectorState(t, c.State), c.Sent)
			assert.Equal(t, c.Expect.Revoked, revoked)
			assertEncodes(t, c.Expect.State, next)
		})
	}
}

func TestVectorsResolve(t *testing.T) {
	for _, c := range loadVectors[struct {
		Name   string
		Config vectorConfig
		Ref    string
		Expect struct {
			URL   string
			Error *vectorError
		}
	}](t, "resolve.json") {
		t.Run(c.Name, func(t *testing.T) {
			got, err := c.Config.settings(t).ResolveURL(c.Ref)
			if c.Expect.Error != nil {
				assertVectorError(t, *c.Expect.Error, err)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.Expect.URL, got)
		})
	}
}

func TestVectorsStates(t *testing.T) {
	for _, c := range loadVectors[struct {
		Name    string
		Text    string
		Decodes *bool
		Expect  struct {
			OK    bool
			Error *vectorError
		}
	}](t, "states.json") {
		t.Run(c.Name, func(t *testing.T) {
			v, ok := decodeJSON(c.Text)
			if c.Decodes != nil && !*c.Decodes {
				// A host that cannot decode the text treats the state as corrupt.
				require.False(t, ok, "the text should not decode")
				require.NotNil(t, c.Expect.Error)
				return
			}
			require.True(t, ok)
			s, err := caspio.ParseState(v)
			if c.Expect.Error != nil {
				assertVectorError(t, *c.Expect.Error, err)
				return
			}
			require.NoError(t, err)
			// What reads must encode back to the same state, unknown fields aside.
			again, err := caspio.ParseState(roundTrip(t, s.Encode()))
			require.NoError(t, err)
			assert.Equal(t, s.Encode(), again.Encode())
			for _, key := range []string{"access_token", "refresh_token", "expires_at", "refresh_used_at", "revision"} {
				if want, present := v.(map[string]any)[key]; present {
					assert.Equal(t, want, s.Encode()[key], key)
				}
			}
		})
	}
}

func roundTrip(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	out, ok := decodeJSON(string(data))
	require.True(t, ok)
	return out
}

func TestVectorsAPIErrors(t *testing.T) {
	for _, c := range loadVectors[struct {
		Name            string
		Status          int
		RequestIDHeader string `json:"request_id_header"`
		BodyText        string `json:"body_text"`
		Expect          struct {
			Status                  int
			Code, Message, Resource string
			RequestID               string `json:"request_id"`
		}
	}](t, "api_errors.json") {
		t.Run(c.Name, func(t *testing.T) {
			body, _ := decodeJSON(c.BodyText)
			e := caspio.NewAPIError(c.Status, c.RequestIDHeader, body)
			assert.Equal(t, c.Expect.Status, e.Status)
			assert.Equal(t, c.Expect.Code, e.Code)
			assert.Equal(t, c.Expect.Message, e.Message)
			assert.Equal(t, c.Expect.Resource, e.Resource)
			assert.Equal(t, c.Expect.RequestID, e.RequestID)
			assert.Equal(t, caspio.KindAPI, e.Kind())
		})
	}
}

func TestVectorsRetryAfter(t *testing.T) {
	for _, c := range loadVectors[struct {
		Name   string
		Value  string
		Now    caspio.UnixMilli
		Expect struct {
			WaitMS *int64 `json:"wait_ms"`
			None   bool
		}
	}](t, "retry_after.json") {
		t.Run(c.Name, func(t *testing.T) {
			wait, ok := caspio.ParseRetryAfter(c.Value, c.Now)
			if c.Expect.None {
				assert.False(t, ok)
				return
			}
			require.True(t, ok)
			assert.Equal(t, caspio.Millis(*c.Expect.WaitMS), wait)
		})
	}
}

// TestVectorsNameSecrets keeps the vectors' promise that every secret contains SECRET, so
// that the runners' leak checks mean something.
func TestVectorsNameSecrets(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(vectorDir, "*.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 9)
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		for _, key := range []string{`"clientSecret": "`, `"access_token": "`, `"refresh_token": "`} {
			for _, part := range strings.Split(string(data), key)[1:] {
				assert.True(t, strings.HasPrefix(part, "SECRET"), "%s: a %s value without SECRET: %.30s", file, key, part)
			}
		}
	}
}
