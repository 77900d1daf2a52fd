package caspio

import (
	"strconv"
	"strings"
)

// Config describes one Caspio REST API client: where its account is, which credentials it
// uses and how. Give exactly one of Account, IntegrationURL, or TokenURL with ResourceURL.
// NewFlow checks a Config and fills in its defaults.
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
	// ClientID and ClientSecret come from the account's Web services profile. Both are
	// required.
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

// Flow is a checked Config: the endpoints, credentials and rules of one client. It holds no
// token and never changes, so one Flow may serve any number of goroutines; the host keeps
// the State and passes it in.
type Flow struct {
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

// NewFlow checks c and returns its Flow. A *ConfigError names the field at fault and the fix.
func NewFlow(c Config) (*Flow, error) {
	f := &Flow{clientID: c.ClientID, clientSecret: c.ClientSecret}

	version := lowerASCII(trimSpaceASCII(c.APIVersion))
	if version != "" && version != "v2" && version != "v3" {
		return nil, &ConfigError{Field: "APIVersion", Problem: "is not a Caspio REST API version (" + describe(c.APIVersion) + ")", Fix: `use "v2" or "v3"`}
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
	if c.ClientSecret.IsZero() {
		return nil, &ConfigError{Field: "ClientSecret", Problem: "is empty", Fix: "copy the Client Secret from the account's Web services profile"}
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
		return nil, &ConfigError{Field: "Credentials", Problem: "is not a credentials placement (" + describe(c.Credentials) + ")", Fix: `use "body" (the default) or "basic"`}
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

func (f *Flow) useAccount(account, version string) error {
	a := lowerASCII(trimSpaceASCII(account))
	why := ""
	switch i := indexNotAlnum(a); {
	case a == "":
		why = "is blank"
	case len(a) > 63:
		why = "has " + characters(len(a)) + " (at most 63)"
	case i >= 0:
		why = "has " + characterAt(a, i) + " (only letters and digits)"
	}
	if why != "" {
		return &ConfigError{Field: "Account", Problem: "is not a Caspio account ID: it " + why, Fix: `use the subdomain of the integration URL, e.g. "c1abc123", or set IntegrationURL`}
	}
	return f.useIntegrationURL("https://"+a+".caspio.com", version)
}

func (f *Flow) useIntegrationURL(raw, version string) error {
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

func (f *Flow) useEndpoints(tokenURL, resourceURL, version string) error {
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
	path := strings.TrimRight(r.path, "/")
	urlVersion := ""
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
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
func (f *Flow) TokenURL() string { return f.tokenURL }

// ResourceBase returns the REST base that resource paths resolve against, e.g.
// "https://c1abc123.caspio.com/rest/v2", without a trailing slash.
func (f *Flow) ResourceBase() string { return f.resourceBase }

// ResourceOrigin returns the scheme, host and port of the resource endpoint: the only origin
// that ever receives the bearer token.
func (f *Flow) ResourceOrigin() string { return f.resourceOrigin }

// APIVersion returns "v2" or "v3", or "" when an explicit ResourceURL names neither.
func (f *Flow) APIVersion() string { return f.apiVersion }

// ClientID returns the client ID. It is not a secret; it identifies stored state.
func (f *Flow) ClientID() string { return f.clientID }

// Credentials returns where client_credentials requests put the credentials.
func (f *Flow) Credentials() string { return f.credentials }

// RefreshMargin returns how long before expiry a token is refreshed.
func (f *Flow) RefreshMargin() Millis { return f.margin }

// String describes the flow without its secret.
func (f *Flow) String() string {
	return "caspio.Flow{TokenURL: " + f.tokenURL + ", ResourceBase: " + f.resourceBase + ", ClientID: " + f.clientID + ", ClientSecret: " + redacted + "}"
}

// GoString is String, for %#v.
func (f *Flow) GoString() string { return f.String() }

// String describes the config without its secret.
func (c Config) String() string {
	var b strings.Builder
	b.WriteString("caspio.Config{")
	field := func(name, value string) {
		if value == "" {
			return
		}
		if b.Len() > len("caspio.Config{") {
			b.WriteString(", ")
		}
		b.WriteString(name + ": " + value)
	}
	field("Account", c.Account)
	field("IntegrationURL", c.IntegrationURL)
	field("TokenURL", c.TokenURL)
	field("ResourceURL", c.ResourceURL)
	field("APIVersion", c.APIVersion)
	field("ClientID", c.ClientID)
	field("ClientSecret", c.ClientSecret.String())
	field("Credentials", c.Credentials)
	if c.RefreshMargin != 0 {
		field("RefreshMargin", strconv.FormatInt(int64(c.RefreshMargin), 10)+"ms")
	}
	b.WriteString("}")
	return b.String()
}

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

func checkClientID(id string) error {
	switch {
	case id == "":
		return &ConfigError{Field: "ClientID", Problem: "is empty", Fix: "copy the Client ID from the account's Web services profile"}
	case indexAny(id, isSpaceOrControl) >= 0:
		return &ConfigError{Field: "ClientID", Problem: "has " + characterAt(id, indexAny(id, isSpaceOrControl)), Fix: "copy the Client ID again without surrounding white space"}
	case strings.Contains(id, ":"):
		// HTTP Basic joins ID and secret with a colon, so an ID with one cannot be sent.
		return &ConfigError{Field: "ClientID", Problem: "has " + characterAt(id, strings.IndexByte(id, ':')) + ", which HTTP Basic authentication cannot carry", Fix: "check that the Client ID was copied alone"}
	}
	return nil
}

// endpoint is a parsed absolute http(s) URL without user info, query or fragment.
type endpoint struct {
	origin string // scheme://host[:port], lower case
	path   string
}

// parseEndpoint parses an endpoint URL strictly. It requires HTTPS except on loopback hosts,
// where the sandbox and local development run over plain HTTP. Its errors describe the URL
// without quoting any of it: a URL may hold a password, and the field a secret pasted into
// it by mistake.
func parseEndpoint(field, raw string) (endpoint, error) {
	bad := func(problem, fix string) (endpoint, error) {
		return endpoint{}, &ConfigError{Field: field, Problem: problem, Fix: fix}
	}
	s := trimSpaceASCII(raw)
	if i := indexAny(s, func(c byte) bool { return isSpaceOrControl(c) || c == '\\' }); i >= 0 {
		return bad("has "+characterAt(s, i), "give a plain URL such as https://c1abc123.caspio.com")
	}
	scheme, rest, ok := strings.Cut(s, "://")
	scheme = lowerASCII(scheme)
	switch {
	case !ok:
		return bad(`is not an absolute URL: it has no "://" (`+describe(s)+")", "give an absolute URL starting with https://")
	case scheme != "https" && scheme != "http":
		return bad("is not an http(s) URL: its scheme is another", "give an absolute URL starting with https://")
	}
	at := len(scheme) + len("://")
	// An "@" anywhere is refused, not only in the host: in https://id:pa/ss@host the
	// password holds a "/" that ends the host for a URL parser, and no Caspio endpoint has one.
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		return bad("has "+characterAt(s, at+i)+": user info (user:password@host) is not allowed", "remove it: the client sends the credentials itself, never in a URL")
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		return bad("has a query or fragment, from "+characterAt(s, at+i), "remove everything from ? or #")
	}
	hostport, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		hostport, path = rest[:i], rest[i:]
	}
	host, port, problem := splitHostPort(hostport)
	if problem != "" {
		return bad(problem, "give a host name such as c1abc123.caspio.com, and a port from 1 to 65535 if any")
	}
	host = lowerASCII(host)
	if scheme == "http" && !isLoopbackHost(host) {
		return bad("uses http:// for a host that is not loopback", "use https://: Caspio accepts HTTPS only (plain http is allowed for localhost, 127.0.0.0/8 and [::1])")
	}
	origin := scheme + "://" + host
	if port != "" && !(scheme == "https" && port == "443") && !(scheme == "http" && port == "80") {
		origin += ":" + port
	}
	if strings.Contains(path, "//") || hasDotSegment(path) {
		return bad("has an empty or dot segment in its path", "give the path as the Web services profile shows it")
	}
	return endpoint{origin: origin, path: path}, nil
}

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port", checking each part. When
// s is not one of them, problem says what is wrong, without quoting any of s.
func splitHostPort(s string) (host, port, problem string) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", `has an IPv6 host without its closing "]"`
		}
		host, rest := s[:end+1], s[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return "", "", `has something other than ":port" after its IPv6 host`
			}
			port = rest[1:]
			if !validPort(port) {
				return "", "", "has a port that is not a number from 1 to 65535"
			}
		}
		inner := host[1 : len(host)-1]
		if inner == "" || strings.Trim(inner, "0123456789abcdefABCDEF:.") != "" {
			return "", "", `has an IPv6 host with characters other than hex digits, ":" and "."`
		}
		return host, port, ""
	}
	host = s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
		if !validPort(port) {
			return "", "", "has a port that is not a number from 1 to 65535"
		}
	}
	switch {
	case host == "":
		return "", "", "has no host"
	case len(host) > 253:
		return "", "", "has a host of " + characters(len(host)) + " (at most 253)"
	}
	for _, label := range strings.Split(host, ".") {
		switch {
		case label == "":
			return "", "", "has an empty label in its host (two dots in a row, or a dot at either end)"
		case len(label) > 63:
			return "", "", "has a label of " + characters(len(label)) + " in its host (at most 63)"
		}
	}
	if i := indexAny(host, func(c byte) bool { return !isHostByte(c) }); i >= 0 {
		return "", "", "has " + characterAt(host, i) + " of its host, where only letters, digits, \"-\", \"_\" and \".\" may stand"
	}
	return host, port, ""
}

func isHostByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536 && p[0] != '0'
}

// isLoopbackHost reports whether host is localhost, in 127.0.0.0/8, or [::1].
func isLoopbackHost(host string) bool {
	switch host {
	case "localhost", "[::1]", "[0:0:0:0:0:0:0:1]":
		return true
	}
	parts := strings.Split(host, ".")
	if len(parts) != 4 || parts[0] != "127" {
		return false
	}
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 255 || (len(p) > 1 && p[0] == '0') {
			return false
		}
	}
	return true
}

func hasDotSegment(path string) bool {
	for _, seg := range strings.Split(path, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
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
