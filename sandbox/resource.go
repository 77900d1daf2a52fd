package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
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
	if len(parts) == 0 || !strings.EqualFold(parts[0], "tables") || len(parts) > 3 || len(parts) == 2 {
		return 0, nil, notFound
	}
	params, e := queryParams(r.URL.RawQuery)
	if e != nil {
		return 0, nil, e
	}
	req := resourceRequest{r: r, version: version, params: params}
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

// selectQuery is a compiled GET .../records request.
type selectQuery struct {
	fields   []int
	where    cond
	orderBy  []orderKey
	distinct bool // q.groupBy without aggregates: one row per distinct selection
	paged    bool
	page     int
	size     int // page size, or q.limit when not paged
}

type orderKey struct {
	field int
	desc  bool
}

func compileSelect(params map[string]string, t *table) (selectQuery, *apiError) {
	q := selectQuery{page: 1, size: 100}
	if v, ok := clause(params, "q.select"); ok {
		fields, e := fieldList("q.select", v, t)
		if e != nil {
			return q, e
		}
		q.fields = fields
	}
	if v, ok := clause(params, "q.groupby"); ok {
		groups, e := fieldList("q.groupBy", v, t)
		if e != nil {
			return q, e
		}
		if q.fields == nil {
			q.fields = groups
		}
		for _, f := range q.fields {
			if !slices.Contains(groups, f) {
				return q, queryError("q.select field '%s' must be in q.groupBy; the sandbox supports q.groupBy only for distinct values, not aggregates.", t.fields[f].Name)
			}
		}
		q.distinct = true
	}
	if q.fields == nil {
		for i := range t.fields {
			q.fields = append(q.fields, i)
		}
	}
	if v, ok := clause(params, "q.where"); ok {
		c, err := parseWhere(v, t)
		if err != nil {
			return q, queryError("%s", err.Error())
		}
		q.where = c
	}
	if v, ok := clause(params, "q.orderby"); ok {
		keys, e := parseOrderBy(v, t)
		if e != nil {
			return q, e
		}
		q.orderBy = keys
	}
	if v, ok := params["q.limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return q, queryError("q.limit must be a whole number from 1 to 1000; got '%s'.", truncate(v, 20))
		}
		q.size = n
	}
	num, hasNum := params["q.pagenumber"]
	size, hasSize := params["q.pagesize"]
	if hasNum || hasSize {
		q.paged, q.size = true, 25
		if hasNum {
			n, err := strconv.Atoi(num)
			if err != nil || n < 1 {
				return q, queryError("q.pageNumber must be a whole number from 1; got '%s'.", truncate(num, 20))
			}
			q.page = n
		}
		if hasSize {
			n, err := strconv.Atoi(size)
			if err != nil || n < 5 || n > 1000 {
				return q, queryError("q.pageSize must be a whole number from 5 to 1000; got '%s'.", truncate(size, 20))
			}
			q.size = n
		}
	}
	return q, nil
}

// fieldList reads a comma-separated list of field names. In q.select, "*" stands for
// every field, as in SQL ("q.select=*" is what a published SDK sends by default).
func fieldList(param, v string, t *table) ([]int, *apiError) {
	var out []int
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			return nil, queryError("%s has an empty field name; list fields separated by commas.", param)
		}
		if name == "*" && param == "q.select" {
			for i := range t.fields {
				if !slices.Contains(out, i) {
					out = append(out, i)
				}
			}
			continue
		}
		i := t.fieldIndex(name)
		if i < 0 {
			return nil, queryError("%s: unknown field '%s' in table %s.", param, truncate(name, 60), t.name)
		}
		if !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	return out, nil
}

func parseOrderBy(v string, t *table) ([]orderKey, *apiError) {
	var keys []orderKey
	for _, item := range strings.Split(v, ",") {
		words := strings.Fields(item)
		if len(words) == 0 || len(words) > 2 {
			return nil, queryError("q.orderBy item '%s' must be 'Field', 'Field ASC' or 'Field DESC'.", truncate(strings.TrimSpace(item), 60))
		}
		i := t.fieldIndex(words[0])
		if i < 0 {
			return nil, queryError("q.orderBy: unknown field '%s' in table %s.", truncate(words[0], 60), t.name)
		}
		key := orderKey{field: i}
		if len(words) == 2 {
			switch strings.ToUpper(words[1]) {
			case "ASC":
			case "DESC":
				key.desc = true
			default:
				return nil, queryError("q.orderBy direction '%s' must be ASC or DESC.", truncate(words[1], 20))
			}
		}
		keys = append(keys, key)
	}
	return keys, nil
}

func (s *Server) getRecords(req resourceRequest, tableKey string) (int, any, *apiError) {
	if e := checkParams(req.params, "q.select", "q.where", "q.orderby", "q.groupby", "q.limit", "q.pagenumber", "q.pagesize"); e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	t := s.tables[tableKey]
	q, e := compileSelect(req.params, t)
	if e != nil {
		s.mu.Unlock()
		return 0, nil, e
	}
	var matched []row
	for _, r := range t.rows {
		if q.where == nil || q.where.match(r) {
			matched = append(matched, r) // rows are replaced, never mutated, so sharing is safe
		}
	}
	fields := t.fields
	s.mu.Unlock()

	if q.distinct {
		matched = distinctRows(matched, q.fields)
	}
	if len(q.orderBy) > 0 {
		slices.SortStableFunc(matched, func(a, b row) int {
			for _, k := range q.orderBy {
				n := compareNullsFirst(a[k.field], b[k.field])
				if k.desc {
					n = -n
				}
				if n != 0 {
					return n
				}
			}
			return 0
		})
	}
	total := len(matched)
	start := total
	if q.page-1 <= total/q.size { // guards the multiplication against overflow
		start = min((q.page-1)*q.size, total)
	}
	end := min(start+q.size, total)
	names := make([]string, len(q.fields))
	for i, f := range q.fields {
		names[i] = fields[f].Name
	}
	out := make([]record, 0, end-start)
	for _, r := range matched[start:end] {
		vals := make([]any, len(q.fields))
		for i, f := range q.fields {
			vals[i] = r[f]
		}
		out = append(out, record{names, vals})
	}
	if req.version == 2 {
		return http.StatusOK, list{out}, nil
	}
	return http.StatusOK, pagedList{out, pagination{q.page, q.size, total}}, nil
}

func compareNullsFirst(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return compareValues(a, b)
}

// distinctRows keeps the first row of each distinct combination of fields.
func distinctRows(rows []row, fields []int) []row {
	seen := make(map[string]bool)
	var out []row
	for _, r := range rows {
		var key strings.Builder
		for _, f := range fields {
			v := r[f]
			if s, ok := v.(string); ok {
				v = strings.ToLower(s) // SQL Server groups case-insensitively
			}
			key.WriteString(valueJSON(v))
			key.WriteByte(0)
		}
		if !seen[key.String()] {
			seen[key.String()] = true
			out = append(out, r)
		}
	}
	return out
}

// readRecordBody decodes a JSON object and converts each value to its field's type.
func readRecordBody(r *http.Request, t *table) (map[int]any, *apiError) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxRecordBody+1))
	if err != nil {
		return nil, bodyError("The request body could not be read.")
	}
	if len(raw) > maxRecordBody {
		return nil, bodyError("The request body is larger than %d bytes.", maxRecordBody)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, bodyError("The request body must be one JSON object of field names and values, such as {\"Name\":\"Ada\"}.")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bodyError("The request body has data after the JSON object; send one object.")
	}
	values := make(map[int]any, len(obj))
	for name, v := range obj {
		i := t.fieldIndex(name)
		if i < 0 {
			return nil, bodyError("Field '%s' does not exist in table %s.", truncate(name, 60), t.name)
		}
		f := t.fields[i]
		if f.Type == typeAutonumber {
			return nil, bodyError("Field '%s' is an AUTONUMBER set by Caspio; remove it from the body.", f.Name)
		}
		if _, dup := values[i]; dup {
			return nil, bodyError("Field '%s' is given more than once.", f.Name)
		}
		conv, e := convertValue(f, v)
		if e != nil {
			return nil, e
		}
		values[i] = conv
	}
	return values, nil
}

func convertValue(f field, v any) (any, *apiError) {
	if v == nil {
		return nil, nil
	}
	switch f.Type {
	case typeString:
		s, ok := v.(string)
		if !ok {
			return nil, bodyError("Field '%s' is text; send a JSON string.", f.Name)
		}
		if utf8.RuneCountInString(s) > maxStringLen {
			return nil, bodyError("Field '%s' holds at most %d characters.", f.Name, maxStringLen)
		}
		return s, nil
	case typeInteger:
		n, ok := v.(json.Number)
		if !ok {
			return nil, bodyError("Field '%s' is an integer; send a JSON number.", f.Name)
		}
		x, err := n.Float64()
		if err != nil || x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return nil, bodyError("Field '%s' is an integer; %s is not one.", f.Name, truncate(n.String(), 30))
		}
		return int64(x), nil
	case typeNumber:
		n, ok := v.(json.Number)
		if !ok {
			return nil, bodyError("Field '%s' is a number; send a JSON number.", f.Name)
		}
		x, err := n.Float64()
		if err != nil || math.IsInf(x, 0) {
			return nil, bodyError("Field '%s' is a number; %s is out of range.", f.Name, truncate(n.String(), 30))
		}
		return x, nil
	case typeDateTime:
		s, ok := v.(string)
		if !ok {
			return nil, bodyError("Field '%s' is a date; send a string such as \"2024-01-31T13:45:00\".", f.Name)
		}
		d, ok := parseDate(s)
		if !ok {
			return nil, bodyError("Field '%s' is a date; '%s' is not one (use \"2024-01-31T13:45:00\").", f.Name, truncate(s, 40))
		}
		return d, nil
	}
	return nil, bodyError("Field '%s' cannot be written.", f.Name)
}

// writeResult is the answer to a PUT, and to a POST with response=rows. Result is always
// there, an empty array unless the rows were asked for.
type writeResult struct {
	RecordsAffected int      `json:"RecordsAffected"`
	Result          []record `json:"Result"`
}

// deleteResult is the answer to a DELETE.
type deleteResult struct {
	RecordsAffected int `json:"RecordsAffected"`
}

func fullRecord(t *table, r row) record {
	names := make([]string, len(t.fields))
	for i, f := range t.fields {
		names[i] = f.Name
	}
	return record{names, append([]any{}, r...)}
}

func (s *Server) postRecord(req resourceRequest, tableKey string) (int, any, *apiError) {
	if e := checkParams(req.params); e != nil {
		return 0, nil, e
	}
	rows, e := wantRows(req.params)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	t := s.tables[tableKey]
	fields := t.fields
	s.mu.Unlock()
	values, e := readRecordBody(req.r, &table{name: t.name, fields: fields})
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	r := make(row, len(fields))
	r[0] = t.nextID
	t.nextID++
	for i, v := range values {
		r[i] = v
	}
	t.rows = append(t.rows, r)
	created := fullRecord(t, r)
	s.mu.Unlock()
	if !rows {
		return http.StatusCreated, nil, nil
	}
	return http.StatusCreated, writeResult{RecordsAffected: 1, Result: []record{created}}, nil
}

// writeWhere compiles the condition that PUT and DELETE require: q.where, or on v3 also
// a bare "where", which Caspio's own n8n node sends for these two calls.
func writeWhere(params map[string]string, version int, t *table) (cond, *apiError) {
	v, ok := clause(params, "q.where")
	if w, bare := clause(params, "where"); bare && version == 3 {
		if ok {
			return nil, queryError("Give the condition once, as q.where or as where, not both.")
		}
		v, ok = w, true
	}
	if !ok {
		name := "q.where"
		if version == 3 {
			name = "q.where (or where)"
		}
		return nil, queryError("%s is required and must not be empty: name the records to change, such as q.where=PK_ID=5.", name)
	}
	c, err := parseWhere(v, t)
	if err != nil {
		return nil, queryError("%s", err.Error())
	}
	return c, nil
}

func (s *Server) putRecords(req resourceRequest, tableKey string) (int, any, *apiError) {
	if e := checkParams(req.params, "q.where"); e != nil {
		return 0, nil, e
	}
	rows, e := wantRows(req.params)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	t := s.tables[tableKey]
	fields := t.fields
	c, e := writeWhere(req.params, req.version, t)
	s.mu.Unlock()
	if e != nil {
		return 0, nil, e
	}
	values, e := readRecordBody(req.r, &table{name: t.name, fields: fields})
	if e != nil {
		return 0, nil, e
	}
	if len(values) == 0 {
		return 0, nil, bodyError("The request body sets no field; give at least one field and its new value.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res := writeResult{Result: []record{}}
	for i, r := range t.rows {
		if !c.match(r) {
			continue
		}
		// Replace the row instead of mutating it: a GET may still be reading the old one.
		nr := append(row{}, r...)
		for fi, v := range values {
			nr[fi] = v
		}
		t.rows[i] = nr
		res.RecordsAffected++
		if rows {
			res.Result = append(res.Result, fullRecord(t, nr))
		}
	}
	return http.StatusOK, res, nil
}

func (s *Server) deleteRecords(req resourceRequest, tableKey string) (int, any, *apiError) {
	if e := checkParams(req.params, "q.where"); e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[tableKey]
	c, e := writeWhere(req.params, req.version, t)
	if e != nil {
		return 0, nil, e
	}
	kept := make([]row, 0, len(t.rows))
	for _, r := range t.rows {
		if !c.match(r) {
			kept = append(kept, r)
		}
	}
	n := len(t.rows) - len(kept)
	// A new slice, not t.rows[:0]: a concurrent GET may still hold the old one.
	t.rows = kept
	return http.StatusOK, deleteResult{RecordsAffected: n}, nil
}
