package caspio

import "github.com/caspio-auth/caspio/internal/decimal"

// Config describes one Caspio REST API client: where its account is, which credentials it
// uses and how. Give exactly one of Account, IntegrationURL, or TokenURL with ResourceURL.
// NewSettings checks a Config and fills in its defaults.
type Config struct {
	// Account is the Caspio account ID, the subdomain of the integration URL, e.g.
	// "c1abc123" for https://c1abc123.caspio.com.
	Account string
	// IntegrationURL is the account's integration URL, e.g. "https://c1abc123.caspio.com".
	// The token endpoint is its /oauth/token and the resource endpoint its REST base.
	IntegrationURL string
	// TokenURL and ResourceURL name both endpoints explicitly, as the Web services profile
	// page shows them, e.g. "https://c1abc123.caspio.com/oauth/token" and
	// "https://c1abc123.caspio.com/rest/v2".
	TokenURL    string
	ResourceURL string
	// APIVersion is "v2" or "v3"; it picks the REST base derived from Account or
	// IntegrationURL (/rest/v2 or /integrations/rest/v3). If empty, "v2" is used, or the
	// version ResourceURL ends with.
	APIVersion string
	// ClientID and ClientSecret come from the account's Web services profile. ClientID is
	// required. ClientSecret is required by every client that may send a token request (a
	// refresh needs it too): it may be empty only for a Machine whose Options.Hold is
	// HoldAll, which uses stored tokens and requests none (NewMachine checks it).
	ClientID     string
	ClientSecret Secret
	// Credentials says where a client_credentials request puts the ID and secret: "body"
	// (form fields) or "basic" (an HTTP Basic Authorization header). If empty, "body" is
	// used. Refresh requests always use the Basic header, as Caspio specifies.
	Credentials string
	// RefreshMargin is how long before its expiry an access token is refreshed, so that a
	// request never starts with a token about to lapse. If zero, 5 minutes is used; it may be
	// at most 12 hours.
	RefreshMargin Millis
}

// Credential placements for Config.Credentials.
const (
	CredentialsInBody  = "body"
	CredentialsInBasic = "basic"
)

// DefaultRefreshMargin is the RefreshMargin used when a Config leaves it zero.
const DefaultRefreshMargin = 5 * Minute

const maxRefreshMargin = 12 * Hour

// Settings is a checked Config: the endpoints, credentials and rules of one client. It holds no
// token and never changes, so one Settings may serve any number of goroutines; the host keeps
// the State and passes it in.
//
// The zero Settings is not usable: make a Settings with NewSettings. Its ResolveURL fails with a
// *ConfigError, NewMachine refuses it, and its other methods describe no endpoint at all
// (empty URLs and client ID; Decide says Authenticate), so that nothing they return can
// reach a server.
type Settings struct {
	tokenURL       string
	resourceBase   string // no trailing slash
	resourceOrigin string // scheme://host[:port]
	resourcePath   string // path of resourceBase, e.g. "/rest/v2"
	apiVersion     string // "v2", "v3" or "" for an explicit ResourceURL without one
	clientID       string
	clientSecret   Secret
	credentials    string
	margin         Millis
}

// NewSettings checks c and returns its Settings. A *ConfigError names the field at fault and the fix.
func NewSettings(c Config) (*Settings, error) {
	f := &Settings{clientID: c.ClientID, clientSecret: c.ClientSecret}

	version := lowerASCII(trimSpaceASCII(c.APIVersion))
	if version != "" && version != "v2" && version != "v3" {
		return nil, &ConfigError{Field: "APIVersion", Problem: "is not a Caspio REST API version (" + ShowInput("APIVersion", c.APIVersion) + ")", Fix: `use "v2" or "v3"`}
	}

	var err error
	switch given := countNonEmpty(c.Account, c.IntegrationURL, c.TokenURL+c.ResourceURL); {
	case given == 0:
		return nil, &ConfigError{Field: "Account", Problem: "no endpoint is configured", Fix: `set Account (e.g. "c1abc123"), IntegrationURL, or TokenURL and ResourceURL`}
	case given > 1:
		return nil, &ConfigError{Field: "Account", Problem: "more than one of Account, IntegrationURL and TokenURL/ResourceURL is set", Fix: "set exactly one of them"}
	case c.Account != "":
		err = f.useAccount(c.Account, version)
	case c.IntegrationURL != "":
		err = f.useIntegrationURL(c.IntegrationURL, version)
	default:
		err = f.useEndpoints(c.TokenURL, c.ResourceURL, version)
	}
	if err != nil {
		return nil, err
	}

	if err := checkClientID(c.ClientID); err != nil {
		return nil, err
	}
	if i := indexControl(c.ClientSecret.Reveal()); i >= 0 {
		return nil, &ConfigError{Field: "ClientSecret", Problem: "has " + characterAt(c.ClientSecret.Reveal(), i), Fix: "copy the Client Secret again without surrounding white space"}
	}

	switch lowerASCII(c.Credentials) {
	case "", CredentialsInBody:
		f.credentials = CredentialsInBody
	case CredentialsInBasic:
		f.credentials = CredentialsInBasic
	default:
		return nil, &ConfigError{Field: "Credentials", Problem: "is not a credentials placement (" + ShowInput("Credentials", c.Credentials) + ")", Fix: `use "body" (the default) or "basic"`}
	}

	switch {
	case c.RefreshMargin == 0:
		f.margin = DefaultRefreshMargin
	case c.RefreshMargin < 0:
		return nil, &ConfigError{Field: "RefreshMargin", Problem: "is negative", Fix: "use a margin from 1 ms to 12 hours, or zero for the default of 5 minutes"}
	case c.RefreshMargin > maxRefreshMargin:
		return nil, &ConfigError{Field: "RefreshMargin", Problem: "is more than 12 hours", Fix: "use a margin from 1 ms to 12 hours, or zero for the default of 5 minutes"}
	default:
		f.margin = c.RefreshMargin
	}
	return f, nil
}

func (f *Settings) useAccount(account, version string) error {
	a := lowerASCII(trimSpaceASCII(account))
	if why := accountProblem(a); why != "" {
		return &ConfigError{Field: "Account", Problem: "is not a Caspio account ID: it " + why, Fix: `use the subdomain of the integration URL, e.g. "c1abc123", or set IntegrationURL`}
	}
	return f.useIntegrationURL("https://"+a+".caspio.com", version)
}

// accountProblem says what keeps a, trimmed and in lower case, from being an account ID:
// the subdomain of an integration URL. It is "" for a good one.
func accountProblem(a string) string {
	switch i := indexNotAlnum(a); {
	case a == "":
		return "is blank"
	case len(a) > 63:
		return "has " + characters(len(a)) + " (at most 63)"
	case i >= 0:
		return "has " + characterAt(a, i) + " (only letters and digits)"
	}
	return ""
}

func (f *Settings) useIntegrationURL(raw, version string) error {
	u, err := parseEndpoint("IntegrationURL", raw)
	if err != nil {
		return err
	}
	if u.path != "" && u.path != "/" {
		return &ConfigError{Field: "IntegrationURL", Problem: "has a path (" + characters(len(u.path)) + " after the host)", Fix: `give only the scheme and host, e.g. "https://c1abc123.caspio.com", or set TokenURL and ResourceURL`}
	}
	if version == "" {
		version = "v2"
	}
	f.apiVersion = version
	f.tokenURL = u.origin + "/oauth/token"
	f.resourceOrigin = u.origin
	f.resourcePath = "/rest/v2"
	if version == "v3" {
		f.resourcePath = "/integrations/rest/v3"
	}
	f.resourceBase = u.origin + f.resourcePath
	return nil
}

func (f *Settings) useEndpoints(tokenURL, resourceURL, version string) error {
	if tokenURL == "" {
		return &ConfigError{Field: "TokenURL", Problem: "is empty while ResourceURL is set", Fix: "set both TokenURL and ResourceURL, as the Web services profile shows them"}
	}
	if resourceURL == "" {
		return &ConfigError{Field: "ResourceURL", Problem: "is empty while TokenURL is set", Fix: "set both TokenURL and ResourceURL, as the Web services profile shows them"}
	}
	t, err := parseEndpoint("TokenURL", tokenURL)
	if err != nil {
		return err
	}
	if t.path == "" || t.path == "/" {
		return &ConfigError{Field: "TokenURL", Problem: "has no path", Fix: `give the whole token endpoint, e.g. "https://c1abc123.caspio.com/oauth/token"`}
	}
	r, err := parseEndpoint("ResourceURL", resourceURL)
	if err != nil {
		return err
	}
	path := trimSlashes(r.path)
	urlVersion := ""
	if i := lastIndexByte(path, '/'); i >= 0 {
		if last := lowerASCII(path[i+1:]); last == "v2" || last == "v3" {
			urlVersion = last
		}
	}
	if version != "" && urlVersion != "" && version != urlVersion {
		// Both versions are words from the fixed list they were checked against: safe to show.
		return &ConfigError{Field: "APIVersion", Problem: "is " + version + ", which disagrees with ResourceURL, which ends in " + urlVersion, Fix: "leave APIVersion empty or make it match ResourceURL"}
	}
	if urlVersion != "" {
		version = urlVersion
	}
	f.tokenURL = t.origin + t.path
	f.resourceOrigin = r.origin
	f.resourcePath = path
	f.resourceBase = r.origin + path
	f.apiVersion = version
	return nil
}

// TokenURL returns the token endpoint.
func (f *Settings) TokenURL() string { return f.tokenURL }

// ResourceBase returns the REST base that resource paths resolve against, e.g.
// "https://c1abc123.caspio.com/rest/v2", without a trailing slash.
func (f *Settings) ResourceBase() string { return f.resourceBase }

// ResourceOrigin returns the scheme, host and port of the resource endpoint: the only origin
// that ever receives the bearer token.
func (f *Settings) ResourceOrigin() string { return f.resourceOrigin }

// APIVersion returns "v2" or "v3", or "" when an explicit ResourceURL names neither.
func (f *Settings) APIVersion() string { return f.apiVersion }

// ClientID returns the client ID. It is not a secret; it identifies stored state.
func (f *Settings) ClientID() string { return f.clientID }

// Credentials returns where client_credentials requests put the credentials.
func (f *Settings) Credentials() string { return f.credentials }

// RefreshMargin returns how long before expiry a token is refreshed.
func (f *Settings) RefreshMargin() Millis { return f.margin }

// usable reports whether f was made by NewSettings.
func (f *Settings) usable() bool { return f != nil && f.tokenURL != "" }

// errZeroSettings is the error of the methods that cannot work without a Settings from NewSettings.
func errZeroSettings() error {
	return &ConfigError{Field: "Settings", Problem: "is the zero Settings, which names no endpoint", Fix: "make the Settings with NewSettings(config)"}
}

// String describes the settings without their secret.
func (f *Settings) String() string {
	if f == nil {
		return "caspio.Settings{}"
	}
	return "caspio.Settings{TokenURL: " + f.tokenURL + ", ResourceBase: " + f.resourceBase + ", ClientID: " + f.clientID + ", ClientSecret: " + redacted + "}"
}

// GoString is String, for %#v.
func (f *Settings) GoString() string { return f.String() }

// String describes the config the way errors describe values (see errors.go), so that a
// Config can be logged whole: a secret pasted into the wrong field or a password in a URL
// must not reach the log. Account, APIVersion and Credentials show when NewSettings would take
// them, and ClientID as it shows in Settings and in stored state; the URLs show without user
// info (replaced by [redacted]), query or fragment; any other value only by its shape, e.g.
// "[redacted: 40 characters: letters and digits]"; ClientSecret is [redacted]. Empty fields
// are left out.
//
// Every fmt verb prints String (Format, config_format.go; %#v GoString), and encoding/json
// MarshalJSON. Format takes an fmt.State, so it is left out of GOOS=js builds, which must
// not link fmt: there %v, %+v, %s, %q, %x and %X print String and %#v GoString, but the
// verbs for numbers (%d, %o...) print each field raw.
func (c Config) String() string {
	b := []byte("caspio.Config{")
	first := true
	for _, f := range c.shownFields() {
		if f.value == "" {
			continue
		}
		if !first {
			b = append(b, ", "...)
		}
		first = false
		b = append(b, f.name+": "+f.value...)
	}
	if c.RefreshMargin != 0 {
		if !first {
			b = append(b, ", "...)
		}
		b = append(b, "RefreshMargin: "+formatInt(int64(c.RefreshMargin))+"ms"...)
	}
	return string(append(b, '}'))
}

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

// MarshalJSON encodes the config as encoding/json would encode its fields, each string
// shown as String shows it ("" when empty), RefreshMargin as milliseconds.
func (c Config) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for _, f := range c.shownFields() {
		b = appendJSONString(b, f.name)
		b = append(b, ':')
		b = append(appendJSONString(b, f.value), ',')
	}
	b = append(b, `"RefreshMargin":`...)
	b = decimal.AppendInt(b, int64(c.RefreshMargin))
	return append(b, '}'), nil
}

// shownField is a Config field as String shows it.
type shownField struct{ name, value string }

// shownFields returns c's string fields in declaration order, as String shows them.
func (c Config) shownFields() []shownField {
	shown := func(value string, ok bool) string {
		if value == "" || ok {
			return value
		}
		return shownShape(value)
	}
	account := lowerASCII(trimSpaceASCII(c.Account))
	version := lowerASCII(trimSpaceASCII(c.APIVersion))
	credentials := lowerASCII(c.Credentials)
	return []shownField{
		{"Account", shown(account, account != "" && accountProblem(account) == "")},
		{"IntegrationURL", shownURL(c.IntegrationURL)},
		{"TokenURL", shownURL(c.TokenURL)},
		{"ResourceURL", shownURL(c.ResourceURL)},
		{"APIVersion", shown(version, version == "v2" || version == "v3")},
		{"ClientID", shown(c.ClientID, checkClientID(c.ClientID) == nil)},
		{"ClientSecret", c.ClientSecret.String()},
		{"Credentials", shown(credentials, credentials == CredentialsInBody || credentials == CredentialsInBasic)},
	}
}

// shownShape is a value that may be a credential, shown by its shape only.
func shownShape(s string) string { return "[redacted: " + describe(s) + "]" }

// shownURL is a Config's URL as String shows it: like a reference in an error (shownRef),
// without query or fragment, and with everything from the authority to the last "@"
// replaced by [redacted], wherever that "@" stands (in https://id:pa#ss@host a query or
// fragment cut first would leave part of the password). A value that is not an http(s) URL
// with "//", or that holds white space, a control character or a backslash, shows by its
// shape only.
func shownURL(raw string) string {
	if raw == "" {
		return ""
	}
	s := trimSpaceASCII(raw)
	n := schemeEnd(s)
	if scheme := lowerASCII(s[:n]); scheme != "https:" && scheme != "http:" || !hasPrefix(s[n:], "//") ||
		indexAny(s, func(c byte) bool { return isSpaceOrControl(c) || c == '\\' }) >= 0 {
		return shownShape(raw)
	}
	if at := lastIndexByte(s, '@'); at >= 0 {
		s = s[:n+2] + redacted + s[at:]
	}
	return shownRef(s)
}

func checkClientID(id string) error {
	switch {
	case id == "":
		return &ConfigError{Field: "ClientID", Problem: "is empty", Fix: "copy the Client ID from the account's Web services profile"}
	case indexAny(id, isSpaceOrControl) >= 0:
		return &ConfigError{Field: "ClientID", Problem: "has " + characterAt(id, indexAny(id, isSpaceOrControl)), Fix: "copy the Client ID again without surrounding white space"}
	case contains(id, ":"):
		// HTTP Basic joins ID and secret with a colon, so an ID with one cannot be sent.
		return &ConfigError{Field: "ClientID", Problem: "has " + characterAt(id, indexByte(id, ':')) + ", which HTTP Basic authentication cannot carry", Fix: "check that the Client ID was copied alone"}
	}
	return nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// indexNotAlnum returns the index of the first byte of s that is not a lower-case ASCII
// letter or a digit, or -1.
func indexNotAlnum(s string) int {
	return indexAny(s, func(c byte) bool { return !('a' <= c && c <= 'z' || '0' <= c && c <= '9') })
}

// indexControl returns the index of the first control character of s, or -1.
func indexControl(s string) int {
	return indexAny(s, func(c byte) bool { return c < 0x20 || c == 0x7f })
}

func isSpaceOrControl(c byte) bool { return c <= ' ' || c == 0x7f }

// indexAny returns the index of the first byte of s for which match is true, or -1.
func indexAny(s string, match func(byte) bool) int {
	for i := 0; i < len(s); i++ {
		if match(s[i]) {
			return i
		}
	}
	return -1
}

func countNonEmpty(values ...string) int {
	n := 0
	for _, v := range values {
		if v != "" {
			n++
		}
	}
	return n
}
