package caspio_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caspio-auth/caspio"
	"github.com/caspio-auth/caspio/internal/reliability"
)

// The conversation vectors in tests/vectors/conversations drive the Machine here, step by
// step; tests/vectors/conversations/README.md describes their format. The same files drive
// the drivers through their public APIs.

const conversationDir = "tests/vectors/conversations"

// conversationCase is one scripted conversation.
type conversationCase struct {
	Name     string
	About    string
	CoreOnly bool `json:"core_only"`
	Config   struct {
		Account, IntegrationURL, TokenURL, ResourceURL, APIVersion string
		ClientID                                                   string `json:"clientId"`
		ClientSecret                                               string `json:"clientSecret"`
		Credentials                                                string
		RefreshMarginMS                                            int64 `json:"refreshMarginMs"`
	}
	Options struct {
		Lock           bool
		Hold           string
		TokenTimeoutMS int64  `json:"token_timeout_ms"`
		LeaseKey       string `json:"lease_key"`
	}
	Script  []scriptEntry
	Outcome struct {
		Calls            map[string]callOutcome
		TokenRequests    map[string]int `json:"token_requests"`
		ResourceRequests int            `json:"resource_requests"`
	}
}

type scriptEntry struct {
	Start   string          // a new call's id
	Call    string          // token, authenticate, refresh or fetch
	Request json.RawMessage // fetch's request
	Now     int64
	Feed    string         // the call fed
	Result  map[string]any // the result fed, in the vectors' form
	Changed bool           // the store says it changed
	Close   string         // the call closed
	Expect  map[string]any // the step that follows, in part
}

type callOutcome struct {
	Call   string
	Result string
	Status int
}

func loadConversations(t *testing.T) map[string][]conversationCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(conversationDir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	out := map[string][]conversationCase{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		var f struct {
			About string
			Cases []conversationCase
		}
		require.NoError(t, dec.Decode(&f), file)
		require.NotEmpty(t, f.Cases, file)
		out[filepath.Base(file)] = f.Cases
	}
	return out
}

func TestConversationVectors(t *testing.T) {
	names := map[string]bool{}
	report := map[string]reliability.Case{}
	for file, cases := range loadConversations(t) {
		for _, c := range cases {
			require.False(t, names[c.Name], "two conversations are named %q", c.Name)
			names[c.Name] = true
			t.Run(strings.TrimSuffix(file, ".json")+"/"+c.Name, func(t *testing.T) { report[file+"#"+c.Name] = runConversation(t, c) })
		}
	}
	require.NoError(t, reliability.Write("go-core", report))
}

func runConversation(t *testing.T, c conversationCase) reliability.Case {
	settings, err := caspio.NewSettings(caspio.Config{
		Account: c.Config.Account, IntegrationURL: c.Config.IntegrationURL, TokenURL: c.Config.TokenURL,
		ResourceURL: c.Config.ResourceURL, APIVersion: c.Config.APIVersion, ClientID: c.Config.ClientID,
		ClientSecret: caspio.NewSecret(c.Config.ClientSecret), Credentials: c.Config.Credentials,
		RefreshMargin: caspio.Millis(c.Config.RefreshMarginMS),
	})
	require.NoError(t, err)
	m, err := caspio.NewMachine(settings, caspio.Options{Lock: c.Options.Lock, Hold: c.Options.Hold, TokenTimeout: caspio.Millis(c.Options.TokenTimeoutMS), LeaseKey: c.Options.LeaseKey})
	require.NoError(t, err)

	convs := map[string]*caspio.Conversation{}
	calls := map[string]string{}
	var order []string // the calls, as the script starts them
	lastStatus := map[string]int{}
	grants := map[string]int{}
	sends := 0
	for i, e := range c.Script {
		where := "script[" + strconv.Itoa(i) + "]"
		var step caspio.Step
		switch {
		case e.Start != "":
			require.NotContains(t, convs, e.Start, where)
			calls[e.Start] = e.Call
			order = append(order, e.Start)
			now := caspio.UnixMilli(e.Now)
			switch e.Call {
			case "token":
				convs[e.Start] = m.Token(now)
			case "authenticate":
				convs[e.Start] = m.Authenticate(now)
			case "refresh":
				convs[e.Start] = m.Refresh(now)
			case "fetch":
				convs[e.Start] = m.Fetch(vectorResourceRequest(t, e.Request), now)
			default:
				t.Fatalf("%s: unknown call %q", where, e.Call)
			}
			step = convs[e.Start].Step()
		case e.Feed != "":
			conv := convs[e.Feed]
			require.NotNil(t, conv, "%s: no call %q", where, e.Feed)
			r, err := caspio.ParseResult(vectorResult(t, e.Result))
			require.NoError(t, err, where)
			if r.Kind == caspio.StepSend {
				lastStatus[e.Feed] = r.Response.Status
			}
			step = conv.Next(r)
		case e.Close != "":
			step = convs[e.Close].Close()
		case e.Changed:
			m.StoreChanged()
			continue
		default:
			t.Fatalf("%s: an entry needs start, feed, close or changed", where)
		}
		switch step.Kind {
		case caspio.StepTokenRequest:
			grants[step.Request.Grant]++
		case caspio.StepSend:
			sends++
		}
		got := roundTripMap(t, step.Encode())
		require.NotNil(t, e.Expect, "%s: every step is expected", where)
		if !assert.True(t, matches(e.Expect, got), "%s: the step\n%s\ndoes not match\n%s", where, mustJSON(got), mustJSON(e.Expect)) {
			return reliability.Case{Outcome: "the script does not match at " + where}
		}
		assertNoSecretInErrors(t, got, where)
	}

	outcomes := map[string]callOutcome{}
	for id, conv := range convs {
		step := conv.Step()
		o := callOutcome{Call: calls[id]}
		switch step.Kind {
		case caspio.StepDone:
			o.Result = "recovered"
			if calls[id] == "fetch" {
				o.Status = lastStatus[id]
			}
		case caspio.StepFail:
			o.Result = step.Encode()["error"].(map[string]any)["kind"].(string)
			if o.Result == "" {
				o.Result = "TypeError" // the host's own error: no answer came (fetch's TypeError in JS)
			}
		default:
			t.Errorf("call %q did not end: it asks for a %s step", id, step.Kind)
		}
		outcomes[id] = o
	}
	assert.Equal(t, c.Outcome.Calls, outcomes, "outcome.calls")
	want := map[string]int{"client_credentials": 0, "refresh_token": 0}
	for g, n := range c.Outcome.TokenRequests {
		want[g] = n
	}
	got := map[string]int{"client_credentials": grants["client_credentials"], "refresh_token": grants["refresh_token"]}
	assert.Equal(t, want, got, "outcome.token_requests")
	assert.Equal(t, c.Outcome.ResourceRequests, sends, "outcome.resource_requests")

	results := make([]string, len(order))
	for i, id := range order {
		results[i] = outcomes[id].Result
	}
	return reliability.Case{Outcome: strings.Join(results, ", "), TokenRequests: got, ResourceRequests: sends}
}

func vectorResourceRequest(t *testing.T, raw json.RawMessage) caspio.ResourceRequest {
	t.Helper()
	var r struct {
		Method, Ref, Redirect, Authorization string
		OneShot                              bool `json:"one_shot"`
		NoRetry                              bool `json:"no_retry"`
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&r))
	return caspio.ResourceRequest{Method: r.Method, Ref: r.Ref, OneShot: r.OneShot, Redirect: r.Redirect, Authorization: caspio.NewSecret(r.Authorization), NoRetry: r.NoRetry}
}

// vectorResult turns a result of the vectors into the form ParseResult reads: the texts a
// host would decode (a response's body_text, a read's stored_text) are decoded here, as a
// host's JSON decoder does.
func vectorResult(t *testing.T, in map[string]any) map[string]any {
	t.Helper()
	out := map[string]any{}
	for k, v := range in {
		out[k] = v
	}
	if text, present := in["stored_text"]; present {
		delete(out, "stored_text")
		if text != nil {
			v, ok := decodeVectorText(text.(string))
			if ok {
				out["stored"] = v
			} else {
				out["error"], out["error_kind"] = "the stored state is not valid JSON", caspio.KindState
			}
		}
	}
	if resp, ok := in["response"].(map[string]any); ok {
		r := map[string]any{}
		for k, v := range resp {
			r[k] = v
		}
		if text, present := resp["body_text"]; present {
			delete(r, "body_text")
			v, ok := decodeVectorText(text.(string))
			r["body"], r["not_json"] = v, !ok
		}
		out["response"] = r
	}
	return out
}

// matches reports whether got holds what want says: every key of an object in want has its
// value in got (null: absent or null), arrays have the same length and match element by
// element, other values are equal.
func matches(want, got any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			gv, present := g[k]
			if wv == nil {
				if present && gv != nil {
					return false
				}
				continue
			}
			if !present || !matches(wv, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !matches(w[i], g[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(want, got)
}

// decodeVectorText decodes a text of a vector as a host's JSON decoder does, reporting
// whether it was JSON.
func decodeVectorText(text string) (any, bool) {
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, false
	}
	return v, true
}

func roundTripMap(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(data, &out))
	return out
}

func mustJSON(v any) string {
	data, _ := json.MarshalIndent(v, "", " ")
	return string(data)
}

// assertNoSecretInErrors checks every error message of an encoded step: the vectors'
// secrets all contain SECRET.
func assertNoSecretInErrors(t *testing.T, v any, where string) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			if k == "message" {
				assert.NotContains(t, sub, "SECRET", "%s: an error message shows a secret", where)
			}
			assertNoSecretInErrors(t, sub, where)
		}
	case []any:
		for _, sub := range x {
			assertNoSecretInErrors(t, sub, where)
		}
	}
}

// TestConversationVectorsCover checks that the files hold the conversations issue 9 asks
// for, by name, and that every secret in them contains SECRET.
func TestConversationVectorsCover(t *testing.T) {
	all := loadConversations(t)
	var names []string
	for _, cases := range all {
		for _, c := range cases {
			names = append(names, c.Name)
		}
	}
	sort.Strings(names)
	for _, want := range []string{
		"cold start", "stampede", "stored valid", "stored expired", "stored for another client",
		"stored newer than memory", "stored corrupt", "expiry mid-run", "401 replayable", "401 one-shot",
		"refresh refused 400 invalid_grant", "refresh refused 401", "evicted refresh token",
		"token endpoint 500", "token endpoint 429 Retry-After", "token endpoint timeout",
		"token endpoint HTML page", "token endpoint bad JSON", "token endpoint missing fields",
		"token endpoint wrong token_type", "token endpoint dropped connection",
		"redirect off the resource origin and back", "re-issued revoked token",
	} {
		found := false
		for _, n := range names {
			if strings.HasPrefix(n, want) {
				found = true
			}
		}
		assert.True(t, found, "no conversation named %q...", want)
	}
	files, _ := filepath.Glob(filepath.Join(conversationDir, "*.json"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		for _, key := range []string{`"clientSecret": "`, `"access_token": "`, `"refresh_token": "`, `\"access_token\": \"`, `\"refresh_token\": \"`, `"authorization": "Bearer `} {
			for _, part := range strings.Split(string(data), key)[1:] {
				assert.True(t, strings.HasPrefix(part, "SECRET"), "%s: a %s value without SECRET: %.30s", file, key, part)
			}
		}
	}
}
