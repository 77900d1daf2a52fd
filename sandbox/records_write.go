package sandbox

// Writing records: POST, PUT and DELETE on .../records, with the body's values converted
// to their fields' types.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"unicode/utf8"
)

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
