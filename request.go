package caspio

// Grant types of the token endpoint.
const (
	GrantClientCredentials = "client_credentials"
	GrantRefreshToken      = "refresh_token"
)

// Request is an HTTP request for the host to perform: a token request described by
// Settings.TokenRequest. The credentials (the secret, the refresh token) travel in Body or
// Authorization, which are Secrets, so that printing or logging a Request shows neither.
//
// A host must not follow redirects for a token request: the credentials are for the token
// endpoint alone (HandleTokenResponse reports a redirect as an error).
type Request struct {
	Method string
	URL    string
	Header map[string]string // canonical names, one value each; Authorization is apart
	// Authorization is the value of the Authorization header, if the request has one
	// (HTTP Basic with the client ID and secret).
	Authorization Secret
	Body          Secret // application/x-www-form-urlencoded
	Grant         string // GrantClientCredentials or GrantRefreshToken
}

// String describes the request without its credentials.
func (r Request) String() string {
	return "caspio.Request{" + r.Method + " " + r.URL + ", grant_type=" + r.Grant + ", credentials " + redacted + "}"
}

// GoString is String, for %#v.
func (r Request) GoString() string { return r.String() }

// TokenRequest describes the token request that action calls for: Authenticate asks for a
// client_credentials grant, Refresh for a refresh_token grant with the state's refresh token
// (and falls back to client_credentials when s has none). A Settings made without a
// ClientSecret describes requests that the token endpoint refuses: the Machine of such a
// Settings holds every token request (HoldAll) and never asks for one.
func (f *Settings) TokenRequest(action Action, s State) Request {
	header := map[string]string{
		"Content-Type": "application/x-www-form-urlencoded",
		"Accept":       "application/json",
	}
	form := formBuilder{}
	authorization := ""
	grant := GrantClientCredentials
	if action == Refresh && !s.RefreshToken.IsZero() {
		grant = GrantRefreshToken
	}
	form.add("grant_type", grant)
	switch {
	case grant == GrantRefreshToken:
		// Caspio specifies the Basic header for refresh, whatever the login used.
		form.add("refresh_token", s.RefreshToken.Reveal())
		authorization = f.basicAuthorization()
	case f.credentials == CredentialsInBasic:
		authorization = f.basicAuthorization()
	default:
		form.add("client_id", f.clientID)
		form.add("client_secret", f.clientSecret.Reveal())
	}
	return Request{Method: "POST", URL: f.tokenURL, Header: header, Authorization: NewSecret(authorization), Body: NewSecret(form.String()), Grant: grant}
}

// basicAuthorization is "Basic " and the standard base64 of "id:secret" on one line, as
// Caspio specifies (RFC 2045's alphabet, without the MIME line breaks that would split the
// header).
func (f *Settings) basicAuthorization() string {
	return "Basic " + string(appendBase64(nil, f.clientID+":"+f.clientSecret.Reveal()))
}

// formBuilder writes application/x-www-form-urlencoded pairs.
type formBuilder struct{ b builder }

func (fb *formBuilder) add(key, value string) {
	if fb.b.Len() > 0 {
		fb.b.WriteByte('&')
	}
	formEscape(&fb.b, key)
	fb.b.WriteByte('=')
	formEscape(&fb.b, value)
}

func (fb *formBuilder) String() string { return fb.b.String() }

// formEscape writes s form-encoded: unreserved bytes as they are, space as '+', every other
// byte as %XX (the WHATWG application/x-www-form-urlencoded serializer).
func formEscape(b *builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '*':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
}

// base64Alphabet is the standard base64 alphabet (RFC 4648, the same as RFC 2045's).
const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// appendBase64 appends the padded standard base64 of src, on one line. A loop, not
// encoding/base64, whose encodings and tables would add about 7 KB to the WebAssembly build.
func appendBase64(dst []byte, src string) []byte {
	for ; len(src) >= 3; src = src[3:] {
		v := uint(src[0])<<16 | uint(src[1])<<8 | uint(src[2])
		dst = append(dst, base64Alphabet[v>>18], base64Alphabet[v>>12&63], base64Alphabet[v>>6&63], base64Alphabet[v&63])
	}
	switch len(src) {
	case 1:
		v := uint(src[0]) << 16
		dst = append(dst, base64Alphabet[v>>18], base64Alphabet[v>>12&63], '=', '=')
	case 2:
		v := uint(src[0])<<16 | uint(src[1])<<8
		dst = append(dst, base64Alphabet[v>>18], base64Alphabet[v>>12&63], base64Alphabet[v>>6&63], '=')
	}
	return dst
}
