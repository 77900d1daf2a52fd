package caspio

// The rules of records calls: the requests a read of a table or view pages through and when
// it stops, the requests of writes, and what Caspio's answers mean. They are pure functions
// of plain values, so that every driver pages the same way: a host sends the request Ref
// gives, reads three facts off the answer (Page) and asks Next what follows.

// Sources of records.
const (
	SourceTable = "tables"
	SourceView  = "views"
)

// Record is one record as a host's JSON decoder gives it: field name to value. The Go
// driver decodes numbers as json.Number, so that a PK_ID or a money amount keeps its digits.
type Record map[string]any

// Query is what a records read asks for: Caspio's q.* parameters, and how to page. The zero
// Query reads every field of every record.
type Query struct {
	// Select lists the fields to return. If empty, every field is. Key paging (see Paging)
	// adds PK_ID when it is not listed, so that rows then carry it too.
	Select []string
	// Where is a condition in Caspio's SQL (q.where), sent as typed: quotes are not changed.
	// If empty, every record matches.
	Where string
	// OrderBy is q.orderBy ("Field [ASC|DESC], ..."). If empty, a table is read in PK_ID
	// order, page by page after the last key; see Paging for what a caller's own order
	// promises.
	OrderBy string
	// GroupBy is q.groupBy. If empty, none is sent.
	GroupBy string
	// Limit is the most records the read returns in all. If zero, it returns every record.
	Limit int
	// PageSize is the records asked for per request, 5 to 1,000 (q.pageSize). If zero,
	// DefaultPageSize is used.
	PageSize int
	// StartPage is the page number to start at, from 1, as a grid that shows page N asks.
	// Above 1, the read pages by number even in key order (ordered by PK_ID for a table
	// without an order of the caller's). If zero, the read starts at the beginning.
	StartPage int
}

// Page sizes Caspio takes, and the one a read uses when the Query leaves it zero.
const (
	MinPageSize     = 5
	MaxPageSize     = 1000
	DefaultPageSize = 1000
)

// keyField is the key every Caspio table has: an AUTONUMBER, which only grows.
const keyField = "PK_ID"

// Paging is a checked records read: the request of each page and when to stop. It holds no
// position, a Cursor does, so one Paging serves any number of reads.
//
// A table read in its key's order (no OrderBy, or OrderBy "PK_ID") pages by key: each
// request asks for the records with PK_ID above the last one handed out, the caller's
// Where kept beside it, ordered by PK_ID. Records added or deleted between requests then
// neither make a record come twice nor be skipped: each is handed out once, in key order,
// and one added behind the last key is not seen. A read in the caller's own order, with
// GroupBy, or of a view (which has no key) pages by page number (q.pageNumber and
// q.pageSize): it promises each record once only while the records do not change; a
// record added or deleted on an earlier page shifts the later pages by one, so that a
// record is skipped or comes twice. Read such a source when it is still, or read it whole
// into one page with PageSize 1,000 when it has at most that many records.
type Paging struct {
	source, name string
	path         string // "tables/Orders/records", the name escaped
	q            Query
	selects      string // q.select's value; "" for none
	keyset       bool
	size         int
}

// Cursor is where a read stands: plain values a host keeps between pages.
type Cursor struct {
	Page    int    // page paging: the number of the next page, from 1
	After   string // key paging: the PK_ID of the last record handed out; "" before the first
	Fetched int    // records handed out so far
	Done    bool   // no request is left to make
}

// Page is what a host read off a page's answer, the only facts the rules need.
type Page struct {
	Count   int    // the records in Result; -1 when the answer has no Result list
	LastKey string // the last record's PK_ID as JSON number text ("" when it has none)
	Total   int    // Pagination.TotalCount (v3); -1 when the answer has none
}

// NewPaging checks a read of the records of name, a table (SourceTable) or a view
// (SourceView), with q. A bad argument gives a *ConfigError naming it, before any request.
func NewPaging(source, name string, q Query) (*Paging, error) {
	path, err := recordsPath(source, name)
	if err != nil {
		return nil, err
	}
	switch {
	case q.PageSize == 0:
		q.PageSize = DefaultPageSize
	case q.PageSize < MinPageSize || q.PageSize > MaxPageSize:
		return nil, &ConfigError{Field: "PageSize", Problem: "is " + itoa(q.PageSize) + ", and Caspio takes a q.pageSize of 5 to 1,000", Fix: "use 5 to 1000, or 0 for 1000"}
	}
	if q.Limit < 0 {
		return nil, &ConfigError{Field: "Limit", Problem: "is negative", Fix: "use a positive number of records, or 0 for all"}
	}
	if q.StartPage < 0 {
		return nil, &ConfigError{Field: "StartPage", Problem: "is negative", Fix: "use a page number from 1, or 0 for the first page"}
	}
	p := &Paging{source: source, name: name, path: path, q: q, size: q.PageSize}
	orderBy := trimSpaceASCII(q.OrderBy)
	p.keyset = source == SourceTable && trimSpaceASCII(q.GroupBy) == "" &&
		(orderBy == "" || equalFoldASCII(orderBy, keyField) || equalFoldASCII(orderBy, keyField+" ASC"))
	if p.keyset && q.StartPage > 1 {
		p.keyset = false // a page by number, in key order
		p.q.OrderBy = keyField
	}
	hasKey := false
	for _, f := range q.Select {
		f = trimSpaceASCII(f)
		if f == "" || indexByte(f, ',') >= 0 {
			return nil, &ConfigError{Field: "Select", Problem: "has an empty field name or one with a comma", Fix: "list one field name per item"}
		}
		if p.selects != "" {
			p.selects += ","
		}
		p.selects += f
		hasKey = hasKey || f == "*" || equalFoldASCII(f, keyField)
	}
	if p.keyset && p.selects != "" && !hasKey {
		p.selects += "," + keyField
	}
	return p, nil
}

// Size returns the records asked for per request: Query.PageSize, or DefaultPageSize.
func (p *Paging) Size() int { return p.size }

// Keyed reports whether the read pages by key (see Paging).
func (p *Paging) Keyed() bool { return p.keyset }

// Start returns the cursor of a read that has not begun.
func (p *Paging) Start() Cursor { return Cursor{Page: max(1, p.q.StartPage)} }

// want is the records the request at c asks for.
func (p *Paging) want(c Cursor) int {
	if p.q.Limit > 0 {
		return min(p.size, p.q.Limit-c.Fetched)
	}
	return p.size
}

// single reports whether the read is one request with q.limit: a limit that one page holds,
// read in the caller's order.
func (p *Paging) single() bool {
	return !p.keyset && p.q.Limit > 0 && p.q.Limit <= p.size && p.q.StartPage <= 1
}

// Ref returns the request of the page at c: a path on the REST base with its query, for
// Settings.ResolveURL. Every q.* value is percent-encoded whole; empty clauses are left out.
func (p *Paging) Ref(c Cursor) string {
	var b builder
	b.WriteString(p.path)
	sep := byte('?')
	param := func(name, value string) {
		if trimSpaceASCII(value) == "" {
			return
		}
		b.WriteByte(sep)
		sep = '&'
		b.WriteString(name)
		b.WriteByte('=')
		appendQueryValue(&b, value)
	}
	param("q.select", p.selects)
	where := trimSpaceASCII(p.q.Where)
	if p.keyset && c.After != "" {
		if where == "" {
			where = keyField + " > " + c.After
		} else {
			where = "(" + where + ") AND " + keyField + " > " + c.After
		}
	}
	param("q.where", where)
	param("q.groupBy", p.q.GroupBy)
	switch {
	case p.keyset:
		param("q.orderBy", keyField)
		param("q.pageNumber", "1")
		param("q.pageSize", itoa(max(MinPageSize, p.want(c))))
	case p.single():
		param("q.orderBy", p.q.OrderBy)
		param("q.limit", itoa(p.q.Limit))
	default:
		param("q.orderBy", p.q.OrderBy)
		param("q.pageNumber", itoa(c.Page))
		param("q.pageSize", itoa(p.size))
	}
	return b.String()
}

// Next takes what the answer to the request at c held and returns the cursor after it, and
// how many of the page's records to hand out (from its start: a limit may cut the page).
// The read is over (Done) after a short page or an empty one, when v3's TotalCount is
// reached, or when Limit records were handed out. An answer the rules cannot page on (no
// Result list; a key paging page whose last record has no PK_ID, or one not above the last
// key) gives a *PageError.
func (p *Paging) Next(c Cursor, pg Page) (Cursor, int, error) {
	if c.Done {
		return c, 0, &StepError{Problem: "the read is over: its cursor is done"}
	}
	if pg.Count < 0 {
		return c, 0, &PageError{Problem: "the answer has no Result array; expected the records of the page"}
	}
	want := p.want(c)
	asked := want
	if p.keyset {
		asked = max(MinPageSize, want)
	} else if p.single() {
		asked = p.q.Limit
	}
	keep := min(pg.Count, want)
	next := c
	next.Fetched += keep
	next.Page++
	if p.keyset && pg.Count > 0 {
		key, ok := parseDecimal(pg.LastKey, 1<<53)
		if !ok {
			return c, 0, &PageError{Problem: "a record of the answer has no whole-number PK_ID; key paging needs it in every record"}
		}
		if c.After != "" {
			if last, _ := parseDecimal(c.After, 1<<53); key <= last {
				return c, 0, &PageError{Problem: "the answer's last PK_ID is not above the last page's; the records are not in key order"}
			}
		}
		next.After = formatInt(key)
		if keep < pg.Count {
			next.After = "" // a cut page ends the read: the key of its last kept record is not known
		}
	}
	switch {
	case pg.Count == 0, pg.Count < asked, keep < pg.Count, p.single():
		next.Done = true
	case p.q.Limit > 0 && next.Fetched >= p.q.Limit:
		next.Done = true
	case pg.Total >= 0 && p.keyset && pg.Total <= pg.Count:
		next.Done = true // the total counts the records above the last key: all came
	case pg.Total >= 0 && !p.keyset && c.Page*p.size >= pg.Total:
		next.Done = true
	}
	return next, keep, nil
}

// PageError is an answer to a records read that the paging rules cannot go on from. Its
// Kind is KindResponse.
type PageError struct {
	Problem string
}

func (e *PageError) Error() string { return "caspio: records: " + e.Problem }

// Kind returns KindResponse.
func (e *PageError) Kind() string { return KindResponse }

// recordsPath returns "tables/<name>/records" or "views/<name>/records", the name escaped.
func recordsPath(source, name string) (string, error) {
	if source != SourceTable && source != SourceView {
		return "", &ConfigError{Field: "source", Problem: "is neither tables nor views", Fix: `use "tables" or "views"`}
	}
	what := "table"
	if source == SourceView {
		what = "view"
	}
	if trimSpaceASCII(name) == "" || name == "." || name == ".." || hasControl(name) {
		return "", &ConfigError{Field: what, Problem: "has no usable name (empty, a dot segment or a control character)", Fix: "give the " + what + "'s name as Caspio shows it"}
	}
	var b builder
	b.WriteString(source + "/")
	appendPathSegment(&b, name)
	b.WriteString("/records")
	return b.String(), nil
}

// Operations of RecordsRef.
const (
	OpInsert = "insert" // POST, one record
	OpUpdate = "update" // PUT, the records where matches
	OpDelete = "delete" // DELETE, the records where matches
)

// RecordsRef returns the request path of a write of table's records: op is OpInsert,
// OpUpdate or OpDelete; where the condition of an update or delete, which must not be blank
// (Caspio refuses one without it, and a client that refuses first cannot empty a table by
// mistake); returnRows asks Caspio to answer the rows written (response=rows; a delete has
// none). A bad argument gives a *ConfigError, before any request.
func RecordsRef(op, table, where string, returnRows bool) (string, error) {
	path, err := recordsPath(SourceTable, table)
	if err != nil {
		return "", err
	}
	var b builder
	b.WriteString(path)
	switch op {
	case OpInsert:
	case OpUpdate, OpDelete:
		if trimSpaceASCII(where) == "" {
			return "", &ConfigError{Field: "where", Problem: "is empty, and Caspio " + op + "s only the records a condition matches", Fix: `give one, such as "PK_ID = 7"; to ` + op + ` every record, say so with "PK_ID > 0"`}
		}
		b.WriteString("?q.where=")
		appendQueryValue(&b, where)
	default:
		return "", &ConfigError{Field: "op", Problem: "is not a write", Fix: `use "insert", "update" or "delete"`}
	}
	if returnRows && op != OpDelete {
		if op == OpInsert {
			b.WriteString("?response=rows")
		} else {
			b.WriteString("&response=rows")
		}
	}
	return b.String(), nil
}

// Outcomes of an insert, as InsertOutcome tells them.
const (
	Inserted = "inserted" // Caspio answered 2xx: the record is in
	Refused  = "refused"  // Caspio answered an error that says it did nothing (4xx)
	Unknown  = "unknown"  // a 5xx, or no answer: the record may or may not be in
)

// InsertOutcome tells what the answer to one insert (status 0 when none came) says of the
// record: a POST is never sent again, so a caller sends a record again only when it knows
// that the first one is not in (Refused), or after checking (Unknown).
func InsertOutcome(status int) string {
	switch {
	case status >= 200 && status < 300:
		return Inserted
	case status == 0 || status >= 500:
		return Unknown
	}
	return Refused
}

// NotFoundError is a Caspio API error saying that a table, view or field of a records call
// does not exist. It wraps the *APIError, whose Kind it has.
type NotFoundError struct {
	Table string // the table or view of the call
	Field string // the field Caspio did not find; "" when it is the table or view
	Err   *APIError
}

func (e *NotFoundError) Error() string {
	if e.Field != "" {
		return "caspio: field " + quote(e.Field) + " not found in " + quote(e.Table) + ": " + e.Err.Error()
	}
	return "caspio: " + quote(e.Table) + " not found: " + e.Err.Error()
}

// Unwrap returns the *APIError.
func (e *NotFoundError) Unwrap() error { return e.Err }

// Kind returns KindAPI.
func (e *NotFoundError) Kind() string { return KindAPI }

// Missing tells what an API error of a records call of table says does not exist: the table
// (ObjectNotFound), a field (FieldNotFound, or a refused query or body that names an unknown
// field), or nothing ("", "").
func Missing(e *APIError, table string) (object, field string) {
	if e == nil {
		return "", ""
	}
	switch e.Code {
	case "ObjectNotFound":
		return table, ""
	case "FieldNotFound":
		if name := quotedAfter(e.Message, "field "); name != "" {
			return table, name
		}
		return table, "?"
	case "IncorrectQueryParameter", "IncorrectBodyParameter":
		if name := quotedAfter(e.Message, "unknown field "); name != "" {
			return table, name
		}
	}
	return "", ""
}

// quotedAfter returns the name quoted ('name' or "name") right after the first marker in
// msg, matched without regard to ASCII case; "" when there is none.
func quotedAfter(msg, marker string) string {
	i := index(lowerASCII(msg), marker)
	if i < 0 || i+len(marker) >= len(msg) {
		return ""
	}
	rest := msg[i+len(marker):]
	if q := rest[0]; q == '\'' || q == '"' {
		if j := indexByte(rest[1:], q); j > 0 {
			return rest[1 : 1+j]
		}
	}
	return ""
}

// RecordsError returns e as a *NotFoundError when it says that table or one of its fields
// does not exist, else e itself.
func RecordsError(e *APIError, table string) error {
	if t, f := Missing(e, table); t != "" {
		return &NotFoundError{Table: t, Field: f, Err: e}
	}
	return e
}

// appendQueryValue writes v percent-encoded as a query value: every byte but the unreserved
// ones and those Caspio's SQL reads as typed ('(),*) is escaped, "&", "=", "+", "#" and "%"
// included, so that a condition reaches Caspio exactly as it was written.
func appendQueryValue(b *builder, v string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(v); i++ {
		c := v[i]
		if isUnreserved(c) || c == '\'' || c == '(' || c == ')' || c == '*' || c == ',' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}

// appendPathSegment writes s percent-encoded as one path segment ("/", "?" and "%" too).
func appendPathSegment(b *builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		if c := s[i]; isUnreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
