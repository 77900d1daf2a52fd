package caspio

import "strconv"

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
	msg := "caspio: token endpoint refused the " + e.Grant + " grant: " + strconv.Itoa(e.Status) + " " + e.ErrorCode
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
	msg := "caspio: API answered " + strconv.Itoa(e.Status)
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
	Location string // the Location header of a redirect, if any
}

func (e *ResponseError) Error() string {
	msg := "caspio: token endpoint response"
	if e.Status != 0 {
		msg += " (" + strconv.Itoa(e.Status) + ")"
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

// URLError reports a resource reference that the client refuses to send a bearer token to.
type URLError struct {
	Ref     string // the reference as given, without its query
	Problem string
}

func (e *URLError) Error() string {
	return "caspio: resource URL " + quote(e.Ref) + ": " + e.Problem
}

// Kind returns KindURL.
func (e *URLError) Kind() string { return KindURL }
