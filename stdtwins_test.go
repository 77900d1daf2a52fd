package caspio

import (
	"encoding/base64"
	"strings"
	"testing"
)

// The core keeps small twins of a few standard functions out of the WebAssembly build
// (text.go, request.go, tokenresponse.go, resource.go): each must give what the standard one gives.
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
