package sandbox

// Reading records: compiling a GET .../records query (q.select, q.where, q.orderBy,
// q.groupBy, q.limit, paging) and answering it.

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

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
	return s.selectLocked(req, s.tables[tableKey])
}

// selectLocked answers a records read of t, a table or a view's rows, with s.mu held; it
// releases s.mu.
func (s *Server) selectLocked(req resourceRequest, t *table) (int, any, *apiError) {
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
