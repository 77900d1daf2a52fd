package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxAdvance bounds one clock step given over HTTP.
const maxAdvance = 10 * 365 * 24 * time.Hour

// serveControl is the control API under /__sandbox/. It needs no credentials: the
// sandbox is a test double listening on loopback.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		preflight(w)
		return
	}
	route := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, controlPrefix), "/")
	allow := func(methods ...string) bool {
		for _, m := range methods {
			if r.Method == m {
				return true
			}
		}
		w.Header().Set("Allow", strings.Join(methods, ", "))
		controlError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s is not supported; use %s", r.Method, r.URL.Path, strings.Join(methods, " or ")))
		return false
	}
	switch route {
	case "":
		if allow(http.MethodGet) {
			writeJSON(w, http.StatusOK, controlDescription())
		}
	case "/clock":
		if !allow(http.MethodGet, http.MethodPost) {
			return
		}
		if r.Method == http.MethodPost {
			v := r.URL.Query().Get("advance")
			if v == "" {
				controlError(w, http.StatusBadRequest, "advance is required, such as ?advance=25h or ?advance=61d")
				return
			}
			d, err := parseAdvance(v)
			if err != nil {
				controlError(w, http.StatusBadRequest, err.Error())
				return
			}
			s.Advance(d)
		}
		writeJSON(w, http.StatusOK, map[string]string{"now": s.Now().UTC().Format(time.RFC3339)})
	case "/faults":
		if !allow(http.MethodGet, http.MethodPost, http.MethodDelete) {
			return
		}
		switch r.Method {
		case http.MethodPost:
			fs, err := readFaults(r)
			if err == nil {
				err = s.injectFaults(fs)
			}
			if err != nil {
				controlError(w, http.StatusBadRequest, err.Error())
				return
			}
		case http.MethodDelete:
			s.clearFaults()
		}
		writeJSON(w, http.StatusOK, map[string][]Fault{"faults": s.queuedFaults()})
	case "/stats":
		if allow(http.MethodGet) {
			writeJSON(w, http.StatusOK, s.Stats())
		}
	case "/reset":
		if allow(http.MethodPost) {
			s.Reset()
			writeJSON(w, http.StatusOK, map[string]bool{"reset": true})
		}
	case "/revoke":
		if allow(http.MethodPost) {
			s.RevokeTokens()
			writeJSON(w, http.StatusOK, map[string]bool{"revoked": true})
		}
	default:
		controlError(w, http.StatusNotFound, "unknown control route; GET /__sandbox/ lists them")
	}
}

func controlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// parseAdvance reads a Go duration, optionally led by whole days ("61d", "1d12h", "-2d").
func parseAdvance(v string) (time.Duration, error) {
	bad := fmt.Errorf("advance %q is not a duration: use Go syntax such as 25h or 90m, or days such as 61d or 1d12h", truncate(v, 40))
	sign, rest := time.Duration(1), v
	if strings.HasPrefix(rest, "-") {
		sign, rest = -1, rest[1:]
	}
	var d time.Duration
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		days, err := strconv.Atoi(rest[:i])
		if err != nil || days < 0 || days > int(maxAdvance/(24*time.Hour)) {
			return 0, bad
		}
		d, rest = time.Duration(days)*24*time.Hour, rest[i+1:]
	}
	if rest != "" {
		more, err := time.ParseDuration(rest)
		if err != nil || more < 0 {
			return 0, bad
		}
		d += more
	}
	if d > maxAdvance {
		return 0, fmt.Errorf("advance must be at most 10 years (3650d) per call")
	}
	return sign * d, nil
}

// readFaults decodes one Fault object or an array of them, refusing unknown fields so
// that a misspelt field does not silently become a different fault.
func readFaults(r *http.Request) ([]Fault, error) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, errors.New("the request body could not be read")
	}
	raw = bytes.TrimSpace(raw)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var fs []Fault
	if len(raw) > 0 && raw[0] == '[' {
		err = dec.Decode(&fs)
	} else {
		var f Fault
		err = dec.Decode(&f)
		fs = []Fault{f}
	}
	if err != nil {
		return nil, fmt.Errorf("the body must be a fault object or an array of them: %v", err)
	}
	if dec.More() {
		return nil, errors.New("the body has data after the JSON value")
	}
	if len(fs) == 0 {
		return nil, errors.New("the array holds no fault")
	}
	return fs, nil
}

// controlDescription answers GET /__sandbox/.
func controlDescription() any {
	return map[string]any{
		"sandbox": "Caspio emulator: OAuth token endpoint and REST API (v2 and v3) for tests",
		"routes": map[string]string{
			"POST /oauth/token":                               "client_credentials (body or Basic) and refresh_token grants",
			"GET /rest/v2/tables":                             "resource API v2; also under /integrations/rest/v3",
			"GET /rest/v2/tables/{table}/fields":              "field definitions",
			"GET|POST|PUT|DELETE /rest/v2/tables/{t}/records": "records; q.select, q.where, q.orderBy, q.groupBy, q.limit, q.pageNumber, q.pageSize",
			"GET /rest/v2/views":                              "view names: ShippedOrders, OrdersWithCustomers, ProductsInStock",
			"GET /rest/v2/views/{v}/records":                  "a view's records (read-only), with the same q.* parameters",
			"GET /__sandbox/clock":                            "the sandbox clock",
			"POST /__sandbox/clock?advance=25h":               "move the clock (Go duration, or days such as 61d)",
			"GET|POST|DELETE /__sandbox/faults":               "list, queue (one fault or an array) or clear faults",
			"GET /__sandbox/stats":                            "counters",
			"POST /__sandbox/reset":                           "tokens, stats, faults, clock and data back to the start",
			"POST /__sandbox/revoke":                          "revoke every access and refresh token",
		},
		"fault_fields": []string{"route", "count", "status", "delay_ms", "body", "content_type", "retry_after", "location", "drop"},
	}
}
