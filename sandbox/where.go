package sandbox

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The q.where parser understands a small part of SQL Server's WHERE syntax, enough to
// exercise a client: comparisons (=, <>, !=, <, >, <=, >=) of a field with a literal,
// [NOT] LIKE with % and _, IS [NOT] NULL, NOT, AND, OR and parentheses. Strings are
// single-quoted with '' for a quote, and compare case-insensitively as in SQL Server's
// default collation. A comparison with NULL is false (SQL's "unknown", simplified).

const (
	maxWhereLen   = 4000
	maxWhereDepth = 32
)

// whereError names what is wrong with q.where; it becomes a 400 IncorrectQueryParameter.
type whereError struct{ msg string }

func (e *whereError) Error() string { return e.msg }

func whereErrorf(format string, args ...any) *whereError {
	return &whereError{"q.where: " + fmt.Sprintf(format, args...)}
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokNumber
	tokOp
	tokLParen
	tokRParen
)

type whereToken struct {
	kind tokKind
	text string // identifier, operator, number as written, or the unescaped string
	pos  int    // byte offset, for error messages
}

func lexWhere(src string) ([]whereToken, *whereError) {
	var toks []whereToken
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			toks = append(toks, whereToken{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, whereToken{tokRParen, ")", i})
			i++
		case c == '\'':
			start := i
			var b strings.Builder
			i++
			closed := false
			for i < len(src) {
				if src[i] == '\'' {
					if i+1 < len(src) && src[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(src[i])
				i++
			}
			if !closed {
				return nil, whereErrorf("unterminated string starting at position %d; close it with ' (write '' for a quote inside)", start+1)
			}
			toks = append(toks, whereToken{tokString, b.String(), start})
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			start := i
			i++
			for i < len(src) && (src[i] >= '0' && src[i] <= '9' || src[i] == '.') {
				i++
			}
			toks = append(toks, whereToken{tokNumber, src[start:i], start})
		case c == '_' || c == '[' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			start := i
			if c == '[' {
				end := strings.IndexByte(src[i:], ']')
				if end < 0 {
					return nil, whereErrorf("unclosed [ at position %d", i+1)
				}
				toks = append(toks, whereToken{tokIdent, src[i+1 : i+end], start})
				i += end + 1
				continue
			}
			for i < len(src) && (src[i] == '_' || src[i] >= 'A' && src[i] <= 'Z' || src[i] >= 'a' && src[i] <= 'z' || src[i] >= '0' && src[i] <= '9') {
				i++
			}
			toks = append(toks, whereToken{tokIdent, src[start:i], start})
		case c == '=':
			toks = append(toks, whereToken{tokOp, "=", i})
			i++
		case c == '<' || c == '>' || c == '!':
			start := i
			op := string(c)
			if i+1 < len(src) && (src[i+1] == '=' || c == '<' && src[i+1] == '>') {
				op += string(src[i+1])
			}
			if op == "!" {
				return nil, whereErrorf("unexpected ! at position %d; use <> or !=", i+1)
			}
			i += len(op)
			toks = append(toks, whereToken{tokOp, op, start})
		default:
			r, _ := utf8.DecodeRuneInString(src[i:])
			return nil, whereErrorf("unexpected character %q at position %d", r, i+1)
		}
	}
	return append(toks, whereToken{kind: tokEOF, pos: len(src)}), nil
}

// cond is a compiled q.where condition.
type cond interface{ match(row) bool }

type andCond struct{ l, r cond }
type orCond struct{ l, r cond }
type notCond struct{ c cond }

func (c andCond) match(r row) bool { return c.l.match(r) && c.r.match(r) }
func (c orCond) match(r row) bool  { return c.l.match(r) || c.r.match(r) }
func (c notCond) match(r row) bool { return !c.c.match(r) }

type nullCond struct {
	field  int
	negate bool
}

func (c nullCond) match(r row) bool { return (r[c.field] == nil) != c.negate }

type likeCond struct {
	field   int
	pattern []rune // lower-cased
	negate  bool
}

func (c likeCond) match(r row) bool {
	s, ok := r[c.field].(string)
	if !ok {
		return false
	}
	return likeMatch([]rune(strings.ToLower(s)), c.pattern) != c.negate
}

type cmpCond struct {
	field int
	op    string
	lit   any // float64, string (lower-cased) or time.Time, matching the field's type
}

func (c cmpCond) match(r row) bool {
	v := r[c.field]
	if v == nil {
		return false
	}
	n := compareValues(v, c.lit)
	switch c.op {
	case "=":
		return n == 0
	case "<>", "!=":
		return n != 0
	case "<":
		return n < 0
	case ">":
		return n > 0
	case "<=":
		return n <= 0
	case ">=":
		return n >= 0
	}
	return false
}

// compareValues orders two non-nil values of compatible kinds; strings compare
// case-insensitively.
func compareValues(a, b any) int {
	if af, ok := toFloat(a); ok {
		if bf, ok := toFloat(b); ok {
			switch {
			case af < bf:
				return -1
			case af > bf:
				return 1
			}
			return 0
		}
	}
	switch a := a.(type) {
	case string:
		if b, ok := b.(string); ok {
			return strings.Compare(strings.ToLower(a), strings.ToLower(b))
		}
	case time.Time:
		if b, ok := b.(time.Time); ok {
			return a.Compare(b)
		}
	}
	return 0
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// likeMatch matches s against a LIKE pattern (% any run, _ one character). It is the
// greedy wildcard algorithm with one backtrack point: O(len(s)*len(p)) at worst.
func likeMatch(s, p []rune) bool {
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '_' || p[pi] == s[si]):
			si++
			pi++
		case pi < len(p) && p[pi] == '%':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '%' {
		pi++
	}
	return pi == len(p)
}

type whereParser struct {
	t     *table
	toks  []whereToken
	pos   int
	depth int
}

// parseWhere compiles q.where for table t.
func parseWhere(src string, t *table) (cond, *whereError) {
	if len(src) > maxWhereLen {
		return nil, whereErrorf("longer than %d characters", maxWhereLen)
	}
	if strings.TrimSpace(src) == "" {
		return nil, whereErrorf("empty; give a condition such as Status='Shipped'")
	}
	toks, err := lexWhere(src)
	if err != nil {
		return nil, err
	}
	p := &whereParser{t: t, toks: toks}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if tok := p.peek(); tok.kind != tokEOF {
		return nil, whereErrorf("unexpected %q at position %d; join conditions with AND or OR", tok.text, tok.pos+1)
	}
	return c, nil
}

func (p *whereParser) peek() whereToken { return p.toks[p.pos] }

func (p *whereParser) next() whereToken {
	tok := p.toks[p.pos]
	if tok.kind != tokEOF {
		p.pos++
	}
	return tok
}

func (p *whereParser) keyword(word string) bool {
	tok := p.peek()
	if tok.kind == tokIdent && strings.EqualFold(tok.text, word) {
		p.pos++
		return true
	}
	return false
}

func (p *whereParser) or() (cond, *whereError) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("OR") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orCond{l, r}
	}
	return l, nil
}

func (p *whereParser) and() (cond, *whereError) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.keyword("AND") {
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = andCond{l, r}
	}
	return l, nil
}

func (p *whereParser) unary() (cond, *whereError) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxWhereDepth {
		return nil, whereErrorf("nested deeper than %d levels", maxWhereDepth)
	}
	if p.keyword("NOT") {
		c, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notCond{c}, nil
	}
	if p.peek().kind == tokLParen {
		p.next()
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		if tok := p.next(); tok.kind != tokRParen {
			return nil, whereErrorf("expected ) at position %d", tok.pos+1)
		}
		return c, nil
	}
	return p.comparison()
}

func (p *whereParser) comparison() (cond, *whereError) {
	tok := p.next()
	if tok.kind != tokIdent || isKeyword(tok.text) {
		return nil, whereErrorf("expected a field name at position %d", tok.pos+1)
	}
	fi := p.t.fieldIndex(tok.text)
	if fi < 0 {
		return nil, whereErrorf("unknown field %q in table %s", tok.text, p.t.name)
	}
	f := p.t.fields[fi]
	if p.keyword("IS") {
		negate := p.keyword("NOT")
		if !p.keyword("NULL") {
			return nil, whereErrorf("expected NULL after IS at position %d", p.peek().pos+1)
		}
		return nullCond{fi, negate}, nil
	}
	negate := p.keyword("NOT")
	if p.keyword("LIKE") {
		pat := p.next()
		if pat.kind != tokString {
			return nil, whereErrorf("LIKE needs a quoted pattern such as 'A%%' at position %d", pat.pos+1)
		}
		if f.Type != typeString {
			return nil, whereErrorf("LIKE applies to text fields; %s is %s", f.Name, f.Type)
		}
		return likeCond{fi, []rune(strings.ToLower(pat.text)), negate}, nil
	}
	if negate {
		return nil, whereErrorf("expected LIKE after NOT at position %d", p.peek().pos+1)
	}
	op := p.next()
	if op.kind != tokOp {
		return nil, whereErrorf("expected an operator (=, <>, <, >, <=, >=, LIKE, IS) after %s at position %d", f.Name, op.pos+1)
	}
	litTok := p.next()
	lit, err := literalFor(f, litTok)
	if err != nil {
		return nil, err
	}
	return cmpCond{fi, op.text, lit}, nil
}

func isKeyword(s string) bool {
	switch strings.ToUpper(s) {
	case "AND", "OR", "NOT", "LIKE", "IS", "NULL":
		return true
	}
	return false
}

// literalFor converts a literal to the kind of field f, as SQL Server would convert it.
func literalFor(f field, tok whereToken) (any, *whereError) {
	switch tok.kind {
	case tokString, tokNumber:
	case tokIdent:
		if strings.EqualFold(tok.text, "NULL") {
			return nil, whereErrorf("compare with NULL using %s IS NULL or IS NOT NULL", f.Name)
		}
		return nil, whereErrorf("expected a value at position %d; quote text as 'text' (the sandbox compares fields only with values)", tok.pos+1)
	default:
		return nil, whereErrorf("expected a value after the operator at position %d", tok.pos+1)
	}
	switch {
	case f.numeric():
		n, err := strconv.ParseFloat(tok.text, 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return nil, whereErrorf("%s is a number; %q is not", f.Name, tok.text)
		}
		return n, nil
	case f.Type == typeDateTime:
		if tok.kind != tokString {
			return nil, whereErrorf("%s is a date; quote it as '2024-01-31' or '2024-01-31T13:45:00'", f.Name)
		}
		d, ok := parseDate(tok.text)
		if !ok {
			return nil, whereErrorf("%s is a date; %q is not one (use '2024-01-31' or '2024-01-31T13:45:00')", f.Name, tok.text)
		}
		return d, nil
	}
	if tok.kind == tokNumber {
		if _, err := strconv.ParseFloat(tok.text, 64); err != nil {
			return nil, whereErrorf("%q at position %d is not a number", tok.text, tok.pos+1)
		}
	}
	return tok.text, nil
}
