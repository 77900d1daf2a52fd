package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/caspio-auth/caspio"
)

// The proxy's limits.
const (
	defaultPrefix = "/caspio"
	minKeyLength  = 16 // a PROXY_KEYS key: long enough not to be guessed
	maxKeyLength  = 256
)

// callerKind is who may use a rule, as a set of bits.
type callerKind uint8

const (
	callerKey    callerKind = 1 << iota // sends a key of PROXY_KEYS as X-Proxy-Key
	callerAccess                        // signed in through Cloudflare Access
	callerPublic                        // anyone on the internet
)

// String spells a set of kinds as logs show it: "key", "access", "key+access", "public".
func (k callerKind) String() string {
	var names []string
	for _, kind := range []struct {
		bit  callerKind
		name string
	}{{callerKey, "key"}, {callerAccess, "access"}, {callerPublic, "public"}} {
		if k&kind.bit != 0 {
			names = append(names, kind.name)
		}
	}
	if len(names) == 0 {
		return "anonymous"
	}
	return strings.Join(names, "+")
}

// proxyConfig is the proxy's configuration, read from the Worker's environment. Problems
// lists what is wrong with it, without the values; while there is any, no request is
// forwarded, but callers are still authenticated with what could be read.
type proxyConfig struct {
	problems  []string
	caspio    caspio.Config
	settings  *caspio.Settings // the checked caspio Config; nil when it is not usable
	prefix    string           // "" for the root, else "/name" without a trailing slash
	keys      [][]byte         // PROXY_KEYS, the valid ones
	access    *accessConfig    // PROXY_ACCESS_TEAM_DOMAIN and PROXY_ACCESS_AUD; nil when unset or unusable
	origins   map[string]bool  // PROXY_ORIGINS, as browsers serialise them: CORS only
	rules     []rule           // PROXY_ALLOW
	hasPublic bool             // whether some rule is for anyone
	methods   string           // the methods of the rules, for preflights
}

// caspioVariables maps the fields of caspio.Config to the variables that set them.
var caspioVariables = map[string]string{
	"Account":        "CASPIO_ACCOUNT",
	"IntegrationURL": "CASPIO_INTEGRATION_URL",
	"TokenURL":       "CASPIO_TOKEN_URL",
	"ResourceURL":    "CASPIO_RESOURCE_URL",
	"APIVersion":     "CASPIO_API_VERSION",
	"ClientID":       "CASPIO_CLIENT_ID",
	"ClientSecret":   "CASPIO_CLIENT_SECRET",
}

// loadConfig reads the configuration from getenv (the Worker's vars and secrets). Every
// problem is noted and the rest is still read.
func loadConfig(getenv func(string) string) *proxyConfig {
	env := func(name string) string { return strings.TrimSpace(getenv(name)) }
	cfg := &proxyConfig{origins: map[string]bool{}}
	problem := func(p string) { cfg.problems = append(cfg.problems, p) }

	prefix, why := parsePrefix(env("PROXY_PREFIX"))
	if why != "" {
		problem(why)
		prefix = defaultPrefix
	}
	cfg.prefix = prefix

	for i, key := range splitList(env("PROXY_KEYS")) {
		if why := keyProblem(key); why != "" {
			problem("PROXY_KEYS key " + strconv.Itoa(i+1) + " " + why)
			continue
		}
		cfg.keys = append(cfg.keys, []byte(key))
	}

	accessDomain, accessAud := env("PROXY_ACCESS_TEAM_DOMAIN"), splitList(env("PROXY_ACCESS_AUD"))
	if accessDomain != "" || len(accessAud) > 0 {
		issuer, why := parseTeamDomain(accessDomain)
		if why != "" {
			problem(why)
		}
		if len(accessAud) == 0 {
			problem("PROXY_ACCESS_AUD is empty while PROXY_ACCESS_TEAM_DOMAIN is set: give the Application Audience (AUD) tag of the Access application")
		}
		audOK := true
		for i, aud := range accessAud {
			if why := audienceProblem(aud); why != "" {
				problem("PROXY_ACCESS_AUD tag " + strconv.Itoa(i+1) + " " + why)
				audOK = false
			}
		}
		if issuer != "" && len(accessAud) > 0 && audOK {
			cfg.access = &accessConfig{issuer: issuer, certsURL: issuer + "/cdn-cgi/access/certs", audiences: accessAud}
		}
	}

	publicWrites := env("PROXY_PUBLIC_WRITES")
	if publicWrites != "" && publicWrites != "allow" {
		problem("PROXY_PUBLIC_WRITES must be empty or the word allow; it is " + strconv.Itoa(len(publicWrites)) + " characters of something else")
	}

	configured := callerPublic
	if env("PROXY_KEYS") != "" {
		configured |= callerKey
	}
	if accessDomain != "" || len(accessAud) > 0 {
		configured |= callerAccess
	}
	allow := splitList(env("PROXY_ALLOW"))
	seen := map[string]bool{}
	var methods []string
	for i, text := range allow {
		where := "PROXY_ALLOW rule " + strconv.Itoa(i+1)
		r, why := parseRule(text)
		if why != "" {
			problem(where + " " + why)
			continue
		}
		if r.callers == callerPublic && r.method != "GET" && r.method != "HEAD" && publicWrites != "allow" {
			problem(where + " lets PUBLIC (anyone on the internet) use " + r.method + ", which writes; set PROXY_PUBLIC_WRITES to allow if that is meant")
			continue
		}
		if r.callers&configured == 0 {
			var missing []string
			if r.callers&callerKey != 0 {
				missing = append(missing, "PROXY_KEYS has no key")
			}
			if r.callers&callerAccess != 0 {
				missing = append(missing, "PROXY_ACCESS_TEAM_DOMAIN and PROXY_ACCESS_AUD are not set")
			}
			problem(where + " is for " + strings.ReplaceAll(r.callers.String(), "+", " or ") + " callers, but " + strings.Join(missing, " and "))
		}
		cfg.rules = append(cfg.rules, r)
		cfg.hasPublic = cfg.hasPublic || r.callers&callerPublic != 0
		if !seen[r.method] {
			seen[r.method] = true
			methods = append(methods, r.method)
		}
	}
	if len(allow) == 0 {
		problem(`PROXY_ALLOW is empty: no request would be allowed; list rules such as "key GET /tables/Orders/records"`)
	}
	cfg.methods = strings.Join(methods, ", ")

	for i, o := range splitList(env("PROXY_ORIGINS")) {
		origin, why := parseOrigin(o)
		if why != "" {
			problem("PROXY_ORIGINS entry " + strconv.Itoa(i+1) + " " + why + "; give the scheme and host only, e.g. https://app.example.com")
			continue
		}
		cfg.origins[origin] = true
	}

	cfg.caspio = caspio.Config{
		Account:        env("CASPIO_ACCOUNT"),
		IntegrationURL: env("CASPIO_INTEGRATION_URL"),
		TokenURL:       env("CASPIO_TOKEN_URL"),
		ResourceURL:    env("CASPIO_RESOURCE_URL"),
		APIVersion:     env("CASPIO_API_VERSION"),
		ClientID:       env("CASPIO_CLIENT_ID"),
		ClientSecret:   caspio.NewSecret(env("CASPIO_CLIENT_SECRET")),
	}
	settings, err := caspio.NewSettings(cfg.caspio)
	if err == nil {
		// A client that sends token requests, as the proxy's does: it needs the secret.
		_, err = caspio.NewMachine(settings, caspio.Options{})
	}
	var ce *caspio.ConfigError
	switch {
	case err == nil:
		cfg.settings = settings
	case errors.As(err, &ce):
		variable := caspioVariables[ce.Field]
		if variable == "" {
			variable = "CASPIO_" + strings.ToUpper(ce.Field)
		}
		// The core describes a value's shape (its length, the kind and position of a bad
		// character), never the value: its words may be logged as they are. A placeholder in
		// angle brackets, as the JS proxy's wrangler.jsonc ships them, is named as one.
		if v := env(variable); len(v) >= 2 && v[0] == '<' && v[len(v)-1] == '>' {
			what := "the value it describes"
			if variable == "CASPIO_CLIENT_ID" {
				what = "the Client ID of the account's Web services profile"
			}
			problem(variable + " still holds the placeholder of wrangler.jsonc (text in angle brackets); replace it with " + what)
		} else {
			problem(variable + " " + ce.Problem + "; " + ce.Fix)
		}
	default:
		problem("CASPIO_ACCOUNT is not a usable Caspio configuration")
	}
	return cfg
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// parsePrefix returns PROXY_PREFIX as "/name" without a trailing slash, "" for the root,
// or what is wrong with it.
func parsePrefix(p string) (string, string) {
	if p == "" {
		return defaultPrefix, ""
	}
	if !strings.HasPrefix(p, "/") {
		return "", "PROXY_PREFIX does not start with /; give a path such as /caspio (or / for the root)"
	}
	p = strings.TrimRight(p, "/")
	if p == "" {
		return "", ""
	}
	for i, seg := range strings.Split(p[1:], "/") {
		where := "PROXY_PREFIX segment " + strconv.Itoa(i+1)
		if seg == "" || seg == "." || seg == ".." {
			return "", where + " is empty, . or .."
		}
		for j := 0; j < len(seg); j++ {
			if !isUnreserved(seg[j]) {
				return "", where + " has a character other than letters, digits and - . _ ~ at position " + strconv.Itoa(j+1)
			}
		}
	}
	return p, ""
}

// keyProblem says what is wrong with a PROXY_KEYS key, or "".
func keyProblem(key string) string {
	if len(key) < minKeyLength {
		return "is " + strconv.Itoa(len(key)) + " characters long; use at least " + strconv.Itoa(minKeyLength) + " (e.g. from openssl rand -base64 32)"
	}
	if len(key) > maxKeyLength {
		return "is " + strconv.Itoa(len(key)) + " characters long; use at most " + strconv.Itoa(maxKeyLength)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return "has a character that is not printable ASCII at position " + strconv.Itoa(i+1) + " (keys are printable ASCII without spaces or commas)"
		}
	}
	return ""
}

// parseTeamDomain returns PROXY_ACCESS_TEAM_DOMAIN as the issuer of Access tokens,
// "https://<team>.cloudflareaccess.com", or what is wrong with it. The scheme may be left
// out; http:// is allowed for a loopback host only (a test's keys server).
func parseTeamDomain(s string) (string, string) {
	const name = "PROXY_ACCESS_TEAM_DOMAIN"
	if s == "" {
		return "", name + " is empty while PROXY_ACCESS_AUD is set: give the team domain, e.g. https://yourteam.cloudflareaccess.com"
	}
	rest := strings.TrimRight(s, "/")
	scheme := "https"
	if i := strings.Index(rest, "://"); i >= 0 {
		scheme, rest = strings.ToLower(rest[:i]), rest[i+3:]
	}
	if scheme != "https" && scheme != "http" {
		return "", name + " has a scheme other than https://"
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !(isAlnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return "", name + " has a character that a host name may not have at position " + strconv.Itoa(i+1) + " after the scheme (give the scheme and host only)"
		}
	}
	rest = strings.ToLower(rest)
	host := rest
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		if port := host[i+1:]; port != "" && strings.Trim(port, "0123456789") == "" {
			host = host[:i]
		}
	}
	if host == "" || (strings.Contains(host, ":") && !(strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]"))) {
		return "", name + " has no valid host (give the scheme and host only, e.g. https://yourteam.cloudflareaccess.com)"
	}
	if scheme == "http" && host != "127.0.0.1" && host != "localhost" && host != "[::1]" {
		return "", name + " uses http://, which only a loopback host may (for tests); use https://"
	}
	return scheme + "://" + rest, ""
}

// audienceProblem says what is wrong with a PROXY_ACCESS_AUD tag, or "".
func audienceProblem(aud string) string {
	if len(aud) != 64 {
		return "is " + strconv.Itoa(len(aud)) + " characters long; an Application Audience (AUD) tag is 64 hexadecimal digits"
	}
	for i := 0; i < len(aud); i++ {
		if c := aud[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "has a character that is not a lower-case hexadecimal digit at position " + strconv.Itoa(i+1)
		}
	}
	return ""
}

// parseOrigin returns an origin as a browser's Origin header serialises it, or what is
// wrong with it.
func parseOrigin(s string) (string, string) {
	s = strings.ToLower(strings.TrimRight(s, "/"))
	scheme, host, ok := strings.Cut(s, "://")
	if !ok || (scheme != "https" && scheme != "http") {
		return "", "does not start with https:// or http://"
	}
	if i := strings.IndexAny(host, "/?#@\\ *"); i >= 0 {
		return "", "has a path, query, user or wildcard at position " + strconv.Itoa(len(scheme)+3+i+1)
	}
	if host == "" {
		return "", "has no host"
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasPrefix(host, "[") {
		n, err := strconv.Atoi(host[i+1:])
		if i == 0 || err != nil || n < 1 || n > 65535 || strings.Trim(host[i+1:], "0123456789") != "" {
			return "", "has a port that is not a number from 1 to 65535"
		}
		if (scheme == "https" && n == 443) || (scheme == "http" && n == 80) {
			host = host[:i] // browsers omit the default port
		}
	}
	return scheme + "://" + host, ""
}

// rule is one PROXY_ALLOW entry: who may use it, a method and a path pattern whose
// segments are literal, "*" (any one segment) or, last, "**" (the rest of the path, zero or
// more segments).
type rule struct {
	callers  callerKind
	method   string
	segments []string
}

// parseRule reads "CALLERS METHOD /path". It says what is wrong without quoting the text: a
// secret put in the wrong variable must not reach a log.
func parseRule(text string) (rule, string) {
	fields := strings.Fields(text)
	if len(fields) != 3 {
		s := "s"
		if len(fields) == 1 {
			s = ""
		}
		return rule{}, "has " + strconv.Itoa(len(fields)) + " field" + s + `; write "CALLERS METHOD /path", e.g. "key GET /tables/Orders/records"`
	}
	callers, why := parseCallers(fields[0])
	if why != "" {
		return rule{}, why
	}
	method := strings.ToUpper(fields[1])
	if len(method) == 0 || len(method) > 20 || strings.Trim(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return rule{}, "has a method that is not letters only (GET, POST, PUT, DELETE, ...)"
	}
	if method == "OPTIONS" {
		return rule{}, "has the method OPTIONS: the proxy answers preflights itself"
	}
	pattern := fields[2]
	if !strings.HasPrefix(pattern, "/") || pattern == "/" {
		return rule{}, "has a path that does not start with / and name a resource"
	}
	segments := strings.Split(pattern[1:], "/")
	for i, seg := range segments {
		where := "path segment " + strconv.Itoa(i+1)
		switch {
		case seg == "" || strings.Trim(seg, ".") == "":
			return rule{}, "has an empty or dot " + where
		case seg == "**" && i != len(segments)-1:
			return rule{}, "has ** as " + where + ", before the last segment"
		case seg == "*" || seg == "**":
			continue
		case strings.Contains(seg, "*"):
			return rule{}, "has * inside " + where + "; * and ** stand for whole segments"
		}
		if what, at := caspio.BadResourceChar(seg); what != "" {
			return rule{}, "has " + what + " in " + where + " at position " + strconv.Itoa(at)
		}
	}
	return rule{callers: callers, method: method, segments: segments}, ""
}

// parseCallers reads who may use a rule: "key", "access", "key+access", or "PUBLIC"
// (anyone: in capitals, so that it stands out).
func parseCallers(field string) (callerKind, string) {
	if field == "PUBLIC" {
		return callerPublic, ""
	}
	if strings.EqualFold(field, "public") {
		return 0, "writes PUBLIC not in capitals; write it PUBLIC, so that it stands out: it lets anyone on the internet use the rule"
	}
	var kinds callerKind
	for _, kind := range strings.Split(strings.ToLower(field), "+") {
		switch kind {
		case "key":
			kinds |= callerKey
		case "access":
			kinds |= callerAccess
		case "public":
			return 0, "combines PUBLIC with other callers; PUBLIC already means anyone"
		default:
			return 0, "does not start with who may use it: key, access, key+access or PUBLIC"
		}
	}
	return kinds, ""
}

// matches reports whether the rule allows method on the resource path's decoded segments.
func (r rule) matches(method string, segs []string) bool {
	if method != r.method {
		return false
	}
	for i, want := range r.segments {
		if want == "**" {
			return true
		}
		if i >= len(segs) || (want != "*" && want != segs[i]) {
			return false
		}
	}
	return len(segs) == len(r.segments)
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isUnreserved(c byte) bool {
	return isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~'
}
