package caspio

// What a message may quote of what a user typed: the rule of errors.go applied to input,
// for every runtime (the JS package and its command line reach it through the WebAssembly
// core). A message names what is wrong and how to fix it; it quotes the value a user typed
// where that value cannot be a credential, so that "--wher" or "v4" can be seen and fixed,
// and only describes it (its length and kinds of character) where it may be one.
//
// A field is named by what it is ("option", "table"), by the Config field or option that
// takes the value ("APIVersion", "apiVersion", "--api-version": case, "-" and "_" do not
// count), or by a command-line option's name for that option's value.
//
// Quoted, as typed, when it has at most 24 characters (no option, command or enumerated
// value is longer, and Caspio's client IDs, secrets and tokens all are):
//   - option:  an option's name, e.g. "--wher" (never its value: see below);
//   - command: a command's name, e.g. "frobnicate";
//   - enumerated values, checked against a fixed list: apiVersion ("v2", "v3"), format
//     ("jsonl", "json"), storage (a storage kind), credentials ("body", "basic"), hold
//     ("login", "all"), redirect;
//   - table and field: the names of a table and of its fields.
//
// Never quoted, only described:
//   - clientSecret, and the tokens: accessToken, refreshToken;
//   - header: a request header's value (-H 'Authorization: Bearer ...');
//   - userinfo: a URL's user info (https://user:password@host);
//   - stray: a positional argument where the command takes none (a secret pasted on the
//     wrong line);
//   - the value of any field or option whose name says secret, token, key, password or
//     authorization;
//   - any field not named in this rule (a client ID, a URL, a request body...), so that a
//     field added later is hidden until it is put on a side.
//
// Quoted when it looks like a name, described otherwise:
//   - argument (or path): a positional argument the command takes, an account ID, and the
//     values of the query and method options (where, select, orderBy, groupBy, limit,
//     pageNumber, pageSize, request or method: -X). Quoted when it has at most 64
//     characters, all of them letters, digits, spaces or ._-/ (an ID, a number, a path);
//     described when it is longer or has anything else, as a secret or a URL with user info
//     would.

// maxShownName is the longest name that ShowInput quotes, and maxShownInput the longest
// argument.
const (
	maxShownName  = 24
	maxShownInput = 64
)

// inputSide is the side of the rule that a field's values are on.
type inputSide int

const (
	inputHidden inputSide = iota
	inputQuoted
	inputPlain // quoted when it looks like a name
)

// sideOf returns the side of the rule for field (see the list above).
func sideOf(field string) inputSide {
	f := squashName(field)
	for _, word := range []string{"secret", "token", "key", "password", "authorization", "authorisation"} {
		if contains(f, word) {
			return inputHidden
		}
	}
	switch f {
	case "option", "command", "apiversion", "format", "storage", "credentials", "hold", "redirect", "table", "field":
		return inputQuoted
	case "header", "userinfo", "stray":
		return inputHidden
	case "argument", "path", "account", "where", "select", "orderby", "groupby", "limit", "pagenumber", "pagesize", "request", "method":
		return inputPlain
	}
	return inputHidden
}

// ShowInput returns value, typed by a user as field, as a message may show it: quoted
// (`"v4"`) when field's values may be shown, or else described by its length and the kinds
// of character in it (`44 characters: letters and digits`). See the rule above.
func ShowInput(field, value string) string {
	switch sideOf(field) {
	case inputQuoted:
		if len(value) <= maxShownName {
			return quote(value)
		}
	case inputPlain:
		if looksLikeName(value) {
			return quote(value)
		}
	}
	return describe(value)
}

// ShowUnknown shows typed, a name that is not one of valid, the names that field takes (its
// options, commands, API versions...), for a message such as "unknown option ...": quoted,
// with the closest valid name when one is close (`"--wher" (did you mean --where?)`), or
// described in parentheses where ShowInput describes it (`(40 characters: letters)`).
func ShowUnknown(field, typed string, valid []string) string {
	shown := ShowInput(field, typed)
	if shown == "" || shown[0] != '"' {
		return "(" + shown + ")" // no suggestion: it would tell something of a value that may be a secret
	}
	if near := Closest(typed, valid); near != "" {
		shown += " (did you mean " + near + "?)"
	}
	return shown
}

// Closest returns the name of valid closest to typed, or "" when none is close: the same
// name but for case, "-" and "_" (client_secret: clientSecret), or one a typo or two away
// (--wher: --where; recrods: records).
func Closest(typed string, valid []string) string {
	t := squashName(typed)
	if t == "" {
		return ""
	}
	best, bestDistance := "", -1
	for _, v := range valid {
		n := squashName(v)
		d := editDistance(t, n)
		if d == 0 {
			return v
		}
		// One edit in a name of up to 8 letters, two up to 16, three beyond.
		if d <= 1+(len(n)-1)/8 && d < len(t) && (bestDistance < 0 || d < bestDistance) {
			best, bestDistance = v, d
		}
	}
	return best
}

// looksLikeName reports whether s may be quoted as a plain argument: at most 64 characters,
// each a letter, a digit, a space or one of ._-/.
func looksLikeName(s string) bool {
	if len(s) > maxShownInput {
		return false
	}
	return indexAny(s, func(c byte) bool {
		return !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == ' ' || c == '.' || c == '_' || c == '-' || c == '/')
	}) < 0
}

// squashName lower-cases name and drops "-" and "_", so that --api-version, api_version,
// apiVersion and APIVersion are one name.
func squashName(name string) string {
	b := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '-' || c == '_':
		case 'A' <= c && c <= 'Z':
			b = append(b, c+'a'-'A')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// editDistance counts the single-byte insertions, deletions, substitutions and swaps of two
// neighbours that make a into b (the optimal string alignment distance). Inputs are names:
// beyond 64 bytes the distance is not worth computing, and counts as far.
func editDistance(a, b string) int {
	if len(a) > maxShownInput || len(b) > maxShownInput {
		return maxShownInput
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// FieldNames are the names that a runtime gives the fields of Config and Options, for
// messages that name them: the JS package calls them account, integrationUrl, tokenUrl and
// so on. An empty name keeps the Go one.
type FieldNames struct {
	Account, IntegrationURL, TokenURL, ResourceURL, APIVersion string
	ClientID, ClientSecret, Credentials, RefreshMargin         string
	Hold, TokenTimeout                                         string // of Options
}

// Named returns a copy of e that names the fields as names does, in Field, Problem and
// Fix ("set Account, IntegrationURL, or TokenURL and ResourceURL" becomes "set account,
// integrationUrl, or tokenUrl and resourceUrl"). Quoted text (a value shown) is left as is.
func (e *ConfigError) Named(names FieldNames) *ConfigError {
	if e == nil {
		return nil
	}
	pairs := [...][2]string{
		{"Account", names.Account}, {"IntegrationURL", names.IntegrationURL}, {"TokenURL", names.TokenURL},
		{"ResourceURL", names.ResourceURL}, {"APIVersion", names.APIVersion}, {"ClientID", names.ClientID},
		{"ClientSecret", names.ClientSecret}, {"Credentials", names.Credentials}, {"RefreshMargin", names.RefreshMargin},
		{"Hold", names.Hold}, {"TokenTimeout", names.TokenTimeout},
	}
	rename := func(text string) string {
		out := make([]byte, 0, len(text))
		inQuote := false
		for i := 0; i < len(text); {
			c := text[i]
			switch {
			case c == '\\' && inQuote && i+1 < len(text):
				out = append(out, c, text[i+1])
				i += 2
				continue
			case c == '"':
				inQuote = !inQuote
			case !inQuote && isWordByte(c) && (i == 0 || !isWordByte(text[i-1])):
				j := i
				for j < len(text) && isWordByte(text[j]) {
					j++
				}
				word := text[i:j]
				for _, p := range pairs {
					if word == p[0] && p[1] != "" {
						word = p[1]
						break
					}
				}
				out = append(out, word...)
				i = j
				continue
			}
			out = append(out, c)
			i++
		}
		return string(out)
	}
	return &ConfigError{Field: rename(e.Field), Problem: rename(e.Problem), Fix: rename(e.Fix)}
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}
