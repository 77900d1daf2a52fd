package caspio

// What an error message may show. A message names the field at fault and says what is wrong
// with the shape of its value (its length, the kinds of character in it, which character is
// not allowed and where), never the value itself: a client secret pasted into the wrong
// field, a password in a URL's user info or a token that a server put in the wrong response
// field must not reach a log. Only values that cannot be credentials are shown:
//   - words from the fixed list a value was checked against ("v2" or "v3"), numbers, and
//     what input.go lets a message quote of what a user typed ("v4", "--wher");
//   - text a server wrote for people to read: an OAuth error code, description and URI,
//     Caspio's Code, Message, Resource and RequestId, a Content-Type that is a plain media
//     type. The client secret and the tokens the client holds are replaced by [redacted] in
//     them, should a server echo one;
//   - a URL reference (a resource path, a redirect's Location), which names a resource, but
//     never its query or fragment, which may hold anything, nor its user info: everything
//     from the authority to the last "@" is [redacted]. A reference that is not an http(s)
//     URL shows its scheme only.
// Error fields follow the same rule as messages, so that logging an error whole is safe.
// What a user typed (an option, a command, an enumerated value, an argument) is shown by the
// rule of input.go, which lists the fields on each side: ShowInput and ShowUnknown.

// Kinds of error, stable across runtimes: the JS package's errors carry the same strings in
// their `code` property, and the shared test vectors name them.
const (
	KindConfig   = "CONFIG_INVALID"   // *ConfigError
	KindOAuth    = "OAUTH_ERROR"      // *OAuthError
	KindAPI      = "CASPIO_API_ERROR" // *APIError
	KindResponse = "RESPONSE_INVALID" // *ResponseError
	KindState    = "STATE_INVALID"    // *StateError
	KindURL      = "URL_REFUSED"      // *URLError
)

// ConfigError reports a Config field that cannot be used, and how to fix it.
type ConfigError struct {
	Field   string // the Config field, e.g. "TokenURL"
	Problem string // what is wrong with it
	Fix     string // what to do instead
}

func (e *ConfigError) Error() string {
	return "caspio: config " + e.Field + ": " + e.Problem + "; " + e.Fix
}

// Kind returns KindConfig.
func (e *ConfigError) Kind() string { return KindConfig }

// OAuthError is an error answered by the token endpoint in the form of RFC 6749 section 5.2.
type OAuthError struct {
	Status      int    // the HTTP status, e.g. 400 or 401
	Grant       string // the grant that was refused: "client_credentials" or "refresh_token"
	ErrorCode   string // the "error" field, e.g. "invalid_client" or "invalid_grant"
	Description string // the "error_description" field, if any
	URI         string // the "error_uri" field, if any
}

func (e *OAuthError) Error() string {
	msg := "caspio: token endpoint refused the " + e.Grant + " grant: " + itoa(e.Status) + " " + e.ErrorCode
	if e.Description != "" {
		msg += ": " + e.Description
	}
	switch e.ErrorCode {
	case "invalid_client":
		msg += " (check the Client ID and Secret of the Web services profile, and the credentials placement)"
	case "unsupported_grant_type", "unauthorized_client":
		msg += " (check that the Web services profile allows this grant)"
	}
	return msg
}

// Kind returns KindOAuth.
func (e *OAuthError) Kind() string { return KindOAuth }

// APIError is an error answered by Caspio's REST API: a JSON body with Code, Message,
// Resource and RequestId, and the X-Caspio-Request-ID header. See NewAPIError.
type APIError struct {
	Status    int    // the HTTP status
	Code      string // Caspio's error code, e.g. "ObjectNotFound"; empty if the body had none
	Message   string // Caspio's message, or a description of the status when there was none
	Resource  string // the resource the error is about, if given
	RequestID string // from the body's RequestId, or else the X-Caspio-Request-ID header
}

func (e *APIError) Error() string {
	msg := "caspio: API answered " + itoa(e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Resource != "" {
		msg += " (resource " + e.Resource + ")"
	}
	if e.RequestID != "" {
		msg += " [request " + e.RequestID + "]"
	}
	return msg
}

// Kind returns KindAPI.
func (e *APIError) Kind() string { return KindAPI }

// ResponseError reports a token endpoint response that is not a usable answer: a field
// missing or of the wrong type, a body that is not JSON, a redirect, or no response at all
// (Status 0, with the transport's error as Cause). The message names the field and what was
// expected; it never quotes a token.
type ResponseError struct {
	Status   int    // the HTTP status; 0 when no response arrived
	Field    string // the offending field, or "" when the problem is the response as a whole
	Problem  string // what was wrong and what was expected
	Cause    error  // the transport error, when Status is 0
	Location string // the Location header of a redirect, if any, without its query and user info
}

func (e *ResponseError) Error() string {
	msg := "caspio: token endpoint response"
	if e.Status != 0 {
		msg += " (" + itoa(e.Status) + ")"
	}
	msg += ": "
	if e.Field != "" {
		msg += e.Field + ": "
	}
	msg += e.Problem
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns the transport error, if any.
func (e *ResponseError) Unwrap() error { return e.Cause }

// Kind returns KindResponse.
func (e *ResponseError) Kind() string { return KindResponse }

// StateError reports stored token state that cannot be read: corrupt, truncated, or written
// by a newer version. A driver discards such a state (and reports it) rather than failing.
type StateError struct {
	Field   string
	Problem string
}

func (e *StateError) Error() string {
	msg := "caspio: stored token state: "
	if e.Field != "" {
		msg += e.Field + ": "
	}
	return msg + e.Problem
}

// Kind returns KindState.
func (e *StateError) Kind() string { return KindState }

// URLError reports a resource reference that the client refuses to send a bearer token to,
// or a redirect that it refuses to follow (see CheckLocation).
type URLError struct {
	Ref     string // the reference as given, without its query, fragment and user info; may be ""
	Problem string
}

func (e *URLError) Error() string {
	if e.Ref == "" {
		return "caspio: resource URL: " + e.Problem // a reference not even safe to show in part
	}
	return "caspio: resource URL " + quote(e.Ref) + ": " + e.Problem
}

// Kind returns KindURL.
func (e *URLError) Kind() string { return KindURL }

// NewAPIError makes the error for a failed resource request from its status, its
// X-Caspio-Request-ID header and its body decoded as JSON (nil if it was not JSON). It
// always returns an error: where the body lacks Caspio's fields, the message describes the
// status.
func NewAPIError(status int, requestID string, body any) *APIError {
	e := &APIError{Status: status, RequestID: requestID}
	if m, ok := body.(map[string]any); ok {
		e.Code, _ = m["Code"].(string)
		e.Message, _ = m["Message"].(string)
		e.Resource, _ = m["Resource"].(string)
		if id, ok := m["RequestId"].(string); ok && id != "" {
			e.RequestID = id
		}
	}
	if e.Message == "" {
		e.Message = statusText(status)
	}
	return e
}

func statusText(status int) string {
	switch status {
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 409:
		return "Conflict"
	case 413:
		return "Payload Too Large"
	case 429:
		return "Too Many Requests"
	case 500:
		return "Internal Server Error"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	}
	return "HTTP status " + itoa(status)
}
