package caspio

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The core keeps small twins of a few standard functions out of the WebAssembly build
// (text.go, request.go, tokenresponse.go, resource.go, proxyrules.go): each must give what
// the standard one gives.
func TestStandardTwins(t *testing.T) {
	inputs := []string{"", "a", "ab", "abc", "abcd", "id:secret", "ünïcödé:\x00\xff", "?#", "a?b#c", "/a//b/", "//", "x\t\r\ny", "tok en", `"q"`, "ab:ab:ab", "\u212a%2E"}
	for _, s := range inputs {
		if got, want := string(appendBase64([]byte("Basic "), s)), "Basic "+base64.StdEncoding.EncodeToString([]byte(s)); got != want {
			t.Errorf("appendBase64(%q) = %q, want %q", s, got, want)
		}
		for _, set := range []string{"?#", "\t\r\n", " \"", authorityBytes} {
			if got, want := indexAnyByte(s, set), strings.IndexAny(s, set); got != want {
				t.Errorf("indexAnyByte(%q, %q) = %d, want %d", s, set, got, want)
			}
			if got, want := onlyBytes(s, set), strings.Trim(s, set) == ""; got != want {
				t.Errorf("onlyBytes(%q, %q) = %v, want %v", s, set, got, want)
			}
		}
		if got, want := validUTF8(s), utf8.ValidString(s); got != want {
			t.Errorf("validUTF8(%q) = %v, want %v", s, got, want)
		}
		if got, want := trimSlashes(s), strings.TrimRight(s, "/"); got != want {
			t.Errorf("trimSlashes(%q) = %q, want %q", s, got, want)
		}
		for _, old := range []string{"a", "ab", ":", "secret", "zz"} {
			if got, want := replaceAll(s, old, "[redacted]"), strings.ReplaceAll(s, old, "[redacted]"); got != want {
				t.Errorf("replaceAll(%q, %q) = %q, want %q", s, old, got, want)
			}
		}
	}
}

// validUTF8, runeCount and runeSize against the utf8 functions on every string of up to three bytes from a set that
// holds each kind of UTF-8 byte, and on U+FFFD, surrogates, overlong forms and U+10FFFF+1.
func TestValidUTF8(t *testing.T) {
	bytes := []byte{0, 'a', 0x7f, 0x80, 0xbf, 0xbd, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0}
	var inputs []string
	for _, a := range bytes {
		for _, b := range bytes {
			for _, c := range bytes {
				inputs = append(inputs, string([]byte{a}), string([]byte{a, b}), string([]byte{a, b, c}))
			}
		}
	}
	inputs = append(inputs, "\uFFFD", "x\uFFFDy", "\xef\xbf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\U0010FFFF", "\xf0\x80\x80\xaf", "表１")
	for _, s := range inputs {
		if got, want := validUTF8(s), utf8.ValidString(s); got != want {
			t.Fatalf("validUTF8(%q) = %v, want %v", s, got, want)
		}
		if got, want := runeCount(s), utf8.RuneCountInString(s); got != want {
			t.Fatalf("runeCount(%q) = %d, want %d", s, got, want)
		}
		r, want := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && want <= 1 {
			want = 0
		}
		if got := runeSize(s); got != want {
			t.Fatalf("runeSize(%q) = %d, want %d", s, got, want)
		}
	}
}

// The twins of the strings functions (text.go), on every pair of inputs of a small set that
// holds the edge cases: empty strings, a match at either end or twice, no match, a
// substring longer than the string, bytes of UTF-8.
func TestStringsTwins(t *testing.T) {
	inputs := []string{"", "a", "/", "//", "ab", "ba", "aba", "abab", "a/b//c", "?q=1?", "://", "http://h/x", "ü", "xü", "\xff", "Jan", "JanFeb"}
	for _, s := range inputs {
		for _, sub := range inputs {
			if got, want := index(s, sub), strings.Index(s, sub); got != want {
				t.Errorf("index(%q, %q) = %d, want %d", s, sub, got, want)
			}
			if got, want := contains(s, sub), strings.Contains(s, sub); got != want {
				t.Errorf("contains(%q, %q) = %v, want %v", s, sub, got, want)
			}
			if got, want := hasPrefix(s, sub), strings.HasPrefix(s, sub); got != want {
				t.Errorf("hasPrefix(%q, %q) = %v, want %v", s, sub, got, want)
			}
			if got, want := hasSuffix(s, sub), strings.HasSuffix(s, sub); got != want {
				t.Errorf("hasSuffix(%q, %q) = %v, want %v", s, sub, got, want)
			}
			if got, want := trimPrefix(s, sub), strings.TrimPrefix(s, sub); got != want {
				t.Errorf("trimPrefix(%q, %q) = %q, want %q", s, sub, got, want)
			}
			if got, want := trimSuffix(s, sub), strings.TrimSuffix(s, sub); got != want {
				t.Errorf("trimSuffix(%q, %q) = %q, want %q", s, sub, got, want)
			}
			a, b, ok := cut(s, sub)
			wa, wb, wok := strings.Cut(s, sub)
			if a != wa || b != wb || ok != wok {
				t.Errorf("cut(%q, %q) = %q, %q, %v, want %q, %q, %v", s, sub, a, b, ok, wa, wb, wok)
			}
			after, ok := cutPrefix(s, sub)
			wafter, wok := strings.CutPrefix(s, sub)
			if after != wafter || ok != wok {
				t.Errorf("cutPrefix(%q, %q) = %q, %v, want %q, %v", s, sub, after, ok, wafter, wok)
			}
		}
		for _, c := range []byte{'a', '/', '?', 0xbc, 0xff, 0} {
			if got, want := indexByte(s, c), strings.IndexByte(s, c); got != want {
				t.Errorf("indexByte(%q, %q) = %d, want %d", s, c, got, want)
			}
			if got, want := lastIndexByte(s, c), strings.LastIndexByte(s, c); got != want {
				t.Errorf("lastIndexByte(%q, %q) = %d, want %d", s, c, got, want)
			}
		}
	}
	var b builder
	var want strings.Builder
	b.Grow(1)
	want.Grow(1)
	for _, s := range inputs {
		b.WriteString(s)
		_ = b.WriteByte('|')
		b.Grow(len(s))
		want.WriteString(s)
		want.WriteByte('|')
		if b.Len() != want.Len() || b.String() != want.String() {
			t.Fatalf("builder holds %q, want %q", b.String(), want.String())
		}
	}
}

func TestRemoveDotSegments(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/", "/"},
		{"/a/b", "/a/b"},
		{"/a/b/", "/a/b/"},
		{"/a/./b", "/a/b"},
		{"/a/../b", "/b"},
		{"/a/..", "/"},
		{"/a/b/..", "/a/"},
		{"/..", "/"},
		{"/../a", "/a"},
		{"/a/%2e%2E/b", "/b"},
		{"//a", "//a"},
		{"/a/.", "/a/"},
	} {
		if got := removeDotSegments(tc.in); got != tc.want {
			t.Errorf("removeDotSegments(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// isResourceLetter and its table stand for unicode.IsLetter, IsMark and Is(unicode.Nd, r)
// on every code point from U+0080. When Go's Unicode version moves, the test prints the
// table to paste into proxyrules.go.
func TestResourceLetters(t *testing.T) {
	want := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.Is(unicode.Nd, r) }
	if table := resourceLettersOf(want); table != resourceLetters {
		t.Fatalf("resourceLetters is not the table of unicode %s; replace it by:\n\n%s", unicode.Version, goStringLiteral(table))
	}
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune+1; r++ {
		if got := isResourceLetter(r); got != want(r) {
			t.Fatalf("isResourceLetter(%U) = %v, want %v", r, got, want(r))
		}
	}
}

// resourceLettersOf encodes the code points from U+0080 for which in holds as
// resourceLetters does.
func resourceLettersOf(in func(rune) bool) string {
	var b []byte
	put := func(v rune) {
		for ; v >= 0x80; v >>= 7 {
			b = append(b, byte(v)|0x80)
		}
		b = append(b, byte(v))
	}
	next := rune(utf8.RuneSelf)
	for r := next; r <= unicode.MaxRune; r++ {
		if !in(r) {
			continue
		}
		lo := r
		for r < unicode.MaxRune && in(r+1) {
			r++
		}
		put(lo - next)
		put(r - lo)
		next = r + 1
	}
	return string(b)
}

// goStringLiteral spells s as a Go constant expression, a line of escapes at a time.
func goStringLiteral(s string) string {
	out, line := `"" +`, ""
	for i := 0; i < len(s); i++ {
		q := strconv.Quote(s[i : i+1])
		if s[i] >= 0x80 {
			q = `"\x` + strconv.FormatUint(uint64(s[i])|0x100, 16)[1:] + `"`
		}
		if len(line)+len(q)-2 > 88 {
			out += "\n\t\"" + line + `" +`
			line = ""
		}
		line += q[1 : len(q)-1]
	}
	return out + "\n\t\"" + line + `"`
}

// itoa and formatInt (text.go) against strconv, in base 10 (internal/decimal tests AppendInt).
func TestIntegerTwins(t *testing.T) {
	for _, n := range []int64{0, 1, -1, 9, 10, -10, 99, 100, 1e6, 1 << 31, -1 << 31, 1<<53 + 1, math.MaxInt64, math.MinInt64, math.MinInt64 + 1} {
		if got, want := formatInt(n), strconv.FormatInt(n, 10); got != want {
			t.Errorf("formatInt(%d) = %q, want %q", n, got, want)
		}
		if got, want := itoa(int(n)), strconv.Itoa(int(n)); got != want {
			t.Errorf("itoa(%d) = %q, want %q", n, got, want)
		}
	}
}
