package caspio

import "github.com/caspio-auth/caspio/internal/decimal"

// encoder receives a value's fields in order. Each shape (a step, a status, an event, an
// error) is told once, by its encode function; Encode builds maps from it (mapEncoder), and
// AppendJSON writes JSON text (jsonEncoder), which the WebAssembly build links alone.
type encoder interface {
	str(key, v string)
	num(key string, v int64) // every number of these shapes is a whole one
	flag(key string, v bool)
	null(key string)
	object(key string) // a nested object, closed by end; key "" for a list's element
	list(key string)   // a list, closed by end
	end()
}

// mapEncoder builds decoded-JSON values: map[string]any, []any, string, float64, bool, nil.
type mapEncoder struct {
	root map[string]any
	open []mapFrame // the containers being filled, innermost last
}

type mapFrame struct {
	key    string
	object map[string]any // nil for a list
	list   []any
}

func newMapEncoder() *mapEncoder {
	root := map[string]any{}
	return &mapEncoder{root: root, open: []mapFrame{{object: root}}}
}

func (e *mapEncoder) put(key string, v any) {
	f := &e.open[len(e.open)-1]
	if f.object != nil {
		f.object[key] = v
	} else {
		f.list = append(f.list, v)
	}
}

func (e *mapEncoder) str(key, v string)       { e.put(key, v) }
func (e *mapEncoder) num(key string, v int64) { e.put(key, float64(v)) }
func (e *mapEncoder) flag(key string, v bool) { e.put(key, v) }
func (e *mapEncoder) null(key string)         { e.put(key, nil) }
func (e *mapEncoder) object(key string) {
	e.open = append(e.open, mapFrame{key: key, object: map[string]any{}})
}
func (e *mapEncoder) list(key string) { e.open = append(e.open, mapFrame{key: key, list: []any{}}) }

func (e *mapEncoder) end() {
	f := e.open[len(e.open)-1]
	e.open = e.open[:len(e.open)-1]
	if f.object != nil {
		e.put(f.key, f.object)
	} else {
		e.put(f.key, f.list)
	}
}

// jsonEncoder appends JSON text to b; the caller writes the outer braces.
type jsonEncoder struct {
	b       []byte
	more    bool   // a value was written in the innermost container: the next one needs a comma
	closers []byte // '}' or ']' for each container opened inside the outer one
}

func (e *jsonEncoder) key(k string) {
	if e.more {
		e.b = append(e.b, ',')
	}
	e.more = true
	if len(e.closers) == 0 || e.closers[len(e.closers)-1] == '}' {
		e.b = appendJSONString(e.b, k)
		e.b = append(e.b, ':')
	}
}

func (e *jsonEncoder) str(key, v string) {
	e.key(key)
	e.b = appendJSONString(e.b, v)
}

func (e *jsonEncoder) num(key string, v int64) {
	e.key(key)
	e.b = decimal.AppendInt(e.b, v)
}

func (e *jsonEncoder) flag(key string, v bool) {
	e.key(key)
	if v {
		e.b = append(e.b, "true"...)
	} else {
		e.b = append(e.b, "false"...)
	}
}

func (e *jsonEncoder) null(key string) {
	e.key(key)
	e.b = append(e.b, "null"...)
}

func (e *jsonEncoder) object(key string) { e.open(key, '{', '}') }
func (e *jsonEncoder) list(key string)   { e.open(key, '[', ']') }

func (e *jsonEncoder) open(key string, opener, closer byte) {
	e.key(key)
	e.b = append(e.b, opener)
	e.closers = append(e.closers, closer)
	e.more = false
}

func (e *jsonEncoder) end() {
	e.b = append(e.b, e.closers[len(e.closers)-1])
	e.closers = e.closers[:len(e.closers)-1]
	e.more = true
}

// encodeValue tells a decoded-JSON value (State.Encode's) as the field key. Its numbers
// are whole, as State.Encode's are; one that is not is told as null.
func encodeValue(e encoder, key string, v any) {
	switch v := v.(type) {
	case string:
		e.str(key, v)
	case float64:
		if v == float64(int64(v)) {
			e.num(key, int64(v))
		} else {
			e.null(key)
		}
	case bool:
		e.flag(key, v)
	case map[string]any:
		e.object(key)
		for k, x := range v {
			encodeValue(e, k, x)
		}
		e.end()
	case []any:
		e.list(key)
		for _, x := range v {
			encodeValue(e, "", x)
		}
		e.end()
	default:
		e.null(key)
	}
}

// appendJSONString writes s as a JSON string. Bytes that are not UTF-8 pass through: a
// JavaScript host decodes them as U+FFFD, as it decodes any string from Go.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
