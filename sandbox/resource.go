package sandbox

// The REST API's routing: authorization, Caspio's error bodies, the query parameters every
// route shares, and the table and field lists. Records are read in records_read.go and
// written in records_write.go.

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// maxRecordBody bounds a write request body.
const maxRecordBody = 1 << 20

// caspioError is the error body of Caspio's REST API.
type caspioError struct {
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	Resource  string `json:"Resource"`
	RequestID string `json:"RequestId"`
}

func writeCaspioError(w http.ResponseWriter, status int, code, message, resource, requestID string) {
	w.Header().Set("X-Caspio-Request-ID", requestID)
	writeJSON(w, status, caspioError{code, message, resource, requestID})
}

// apiError is a Caspio error a handler returns; serveResource writes it.
type apiError struct {
	status  int
	code    string
	message string
}

func queryError(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "IncorrectQueryParameter", fmt.Sprintf(format, args...)}
}

func bodyError(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "IncorrectBodyParameter", fmt.Sprintf(format, args...)}
}

// resourceRequest is what a route handler needs besides the table.
type resourceRequest struct {
	r       *http.Request
	version int
	params  map[string]string // query parameters, names lower-cased
}

// serveResource is everything under /rest/v2 and /integrations/rest/v3; rest is the
// path after the prefix.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, version int, rest string) {
	if r.Method == http.MethodOptions {
		preflight(w)
		return
	}
	requestID := newRequestID()
	w.Header().Set("X-Caspio-Request-ID", requestID)
	s.mu.Lock()
	s.stats.ResourceRequests++
	s.mu.Unlock()
	if f, ok := s.takeFault(r); ok && s.applyFault(w, r, f, routeResource, requestID) {
		return
	}
	if !s.authorized(r) {
		s.mu.Lock()
		s.stats.Unauthorized++
		s.mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeCaspioError(w, http.StatusUnauthorized, "Unauthorized", "Authorization has been denied for this request.", r.URL.Path, requestID)
		return
	}
	status, body, e := s.route(r, version, rest)
	if e != nil {
		if allow, ok := body.(string); ok && e.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", allow)
			e.message = "The requested resource does not support http method '" + r.Method + "'."
		}
		writeCaspioError(w, e.status, e.code, e.message, r.URL.Path, requestID)
		return
	}
	if body == nil {
		w.WriteHeader(status) // POST without response=rows: Caspio sends no body
		return
	}
	writeJSON(w, status, body)
}

// authorized checks "Authorization: Bearer <token>" (scheme case-insensitive, one
// header, a token of RFC 6750 b64token characters).
func (s *Server) authorized(r *http.Request) bool {
	headers := r.Header.Values("Authorization")
	if len(headers) != 1 {
		return false
	}
	scheme, tok, ok := strings.Cut(headers[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || strings.IndexFunc(strings.TrimRight(tok, "="), func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~+/", c))
	}) >= 0 {
		return false
	}
	return s.validAccessToken(tok)
}

// route dispatches an authorized request. On 405 the second result is the Allow value.
func (s *Server) route(r *http.Request, version int, rest string) (int, any, *apiError) {
	notFound := &apiError{http.StatusNotFound, "ObjectNotFound", "The requested resource was not found."}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	isViews := len(parts) > 0 && strings.EqualFold(parts[0], "views")
	if len(parts) == 0 || !strings.EqualFold(parts[0], "tables") && !isViews || len(parts) > 3 || len(parts) == 2 && !isViews {
		return 0, nil, notFound
	}
	params, e := queryParams(r.URL.RawQuery)
	if e != nil {
		return 0, nil, e
	}
	req := resourceRequest{r: r, version: version, params: params}
	if isViews {
		return s.routeViews(r, req, parts)
	}
	if len(parts) == 1 {
		if r.Method != http.MethodGet {
			return 0, "GET", &apiError{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed"}
		}
		return http.StatusOK, s.listTables(), nil
	}
	s.mu.Lock()
	_, known := s.tables[strings.ToLower(parts[1])]
	s.mu.Unlock()
	if !known {
		return 0, nil, &apiError{http.StatusNotFound, "ObjectNotFound", fmt.Sprintf("Table '%s' does not exist.", truncate(parts[1], 100))}
	}
	tableKey := strings.ToLower(parts[1])
	switch strings.ToLower(parts[2]) {
	case "fields":
		if r.Method != http.MethodGet {
			return 0, "GET", &apiError{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed"}
		}
		return http.StatusOK, s.listFields(tableKey), nil
	case "records":
		switch r.Method {
		case http.MethodGet:
			return s.getRecords(req, tableKey)
		case http.MethodPost:
			return s.postRecord(req, tableKey)
		case http.MethodPut:
			return s.putRecords(req, tableKey)
		case http.MethodDelete:
			return s.deleteRecords(req, tableKey)
		}
		return 0, "GET, POST, PUT, DELETE", &apiError{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed"}
	}
	return 0, nil, notFound
}

// queryParams reads the query, refusing a parameter given twice. Names are matched
// case-insensitively, as ASP.NET binds them.
func queryParams(raw string) (map[string]string, *apiError) {
	values, err := url.ParseQuery(raw)
	if err != nil {
		return nil, queryError("The query string is not valid; check its percent-encoding.")
	}
	params := make(map[string]string, len(values))
	for name, vs := range values {
		key := strings.ToLower(name)
		if _, dup := params[key]; dup || len(vs) > 1 {
			return nil, queryError("Parameter '%s' is given more than once.", truncate(name, 40))
		}
		params[key] = vs[0]
	}
	return params, nil
}

// checkParams refuses q.* parameters the route does not take.
func checkParams(params map[string]string, allowed ...string) *apiError {
	for name := range params {
		if strings.HasPrefix(name, "q.") && !slices.Contains(allowed, name) {
			if len(allowed) == 0 {
				return queryError("Parameter '%s' is not supported here; this call takes no q. parameters.", truncate(name, 40))
			}
			return queryError("Parameter '%s' is not supported here; use %s.", truncate(name, 40), strings.Join(allowed, ", "))
		}
	}
	return nil
}

// wantRows reads response=rows, which asks a write call to return the rows it wrote. An
// empty value asks for none: published clients send "response=" when they want no rows.
func wantRows(params map[string]string) (bool, *apiError) {
	v := strings.TrimSpace(params["response"])
	if v == "" {
		return false, nil
	}
	if !strings.EqualFold(v, "rows") {
		return false, queryError("Parameter 'response' must be 'rows', empty or absent.")
	}
	return true, nil
}

// clause reads a q.select, q.where, q.groupBy or q.orderBy value. Clients send these
// empty when they mean "none" (a published SDK sends all four on every read), so an empty
// or blank value counts as absent.
func clause(params map[string]string, name string) (string, bool) {
	v := strings.TrimSpace(params[name])
	return v, v != ""
}

// pagination is what a v3 records read reports about its page. The names are those
// Caspio's own clients read (see the package documentation).
type pagination struct {
	PageNumber int `json:"PageNumber"`
	PageSize   int `json:"PageSize"`
	TotalCount int `json:"TotalCount"`
}

// list is Caspio's answer to a list request: {"Result": [...]}.
type list struct {
	Result any `json:"Result"`
}

// pagedList is a v3 records read: the list and its Pagination.
type pagedList struct {
	Result     any        `json:"Result"`
	Pagination pagination `json:"Pagination"`
}

func (s *Server) listTables() any {
	return list{append([]string{}, tableNames...)}
}

func (s *Server) listFields(tableKey string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[tableKey]
	out := make([]fieldJSON, len(t.fields))
	for i, f := range t.fields {
		out[i] = fieldJSON{Name: f.Name, Type: f.Type, Unique: f.Type == typeAutonumber, DisplayOrder: i + 1}
	}
	return list{out}
}
