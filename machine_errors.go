package caspio

// Kinds of the errors with which a Machine's conversations fail, beside those of errors.go.
const (
	KindGaveUp    = "TOKEN_GAVE_UP"      // *TokenError: the acquisition's token requests ran out
	KindReissued  = "TOKEN_REISSUED"     // *TokenError: the new access token is one a 401 refused
	KindHeld      = "TOKEN_REQUEST_HELD" // *TokenError: Options.Hold stopped a token request
	KindNotUsable = "TOKEN_NOT_USABLE"   // *TokenError: the new access token gives no lease
	KindRedirect  = "REDIRECT_REFUSED"   // *RedirectError
	KindStep      = "STEP_MISUSED"       // *StepError
)

// TokenError reports an acquisition that ended without a token for a reason of its own;
// when a token request's error is the reason, the conversation fails with that error
// itself.
type TokenError struct {
	Code    string // KindGaveUp, KindReissued, KindHeld or KindNotUsable
	Grant   string // the grant concerned, if any
	Problem string
	Cause   error // the last token request's error, for KindGaveUp
}

func (e *TokenError) Error() string {
	msg := "caspio: " + e.Problem
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns the cause, if any.
func (e *TokenError) Unwrap() error { return e.Cause }

// Kind returns e.Code.
func (e *TokenError) Kind() string { return e.Code }

// RedirectError reports a redirect that a resource request did not follow: the eleventh in
// a row, or any when the request's Redirect is RefuseRedirects. (A Location that may carry
// user info, or that is not http(s), is refused with a *URLError: see CheckLocation.)
type RedirectError struct {
	Status   int    // the redirect's status
	Location string // where it led, shown as errors show references (no query, no user info)
	Problem  string
}

func (e *RedirectError) Error() string {
	msg := "caspio: redirect " + itoa(e.Status)
	if e.Location != "" {
		msg += " to " + quote(e.Location)
	}
	return msg + ": " + e.Problem
}

// Kind returns KindRedirect.
func (e *RedirectError) Kind() string { return KindRedirect }

// StepError reports a driver's misuse of a conversation: a result for another step than the
// one asked for, a result after the end, a result without its time. The conversation ends
// with it (and the flight it ran lands with it); a driver that took the store's lock for it
// releases the lock.
type StepError struct {
	Problem string
}

func (e *StepError) Error() string { return "caspio: conversation misused: " + e.Problem }

// Kind returns KindStep.
func (e *StepError) Kind() string { return KindStep }

// EncodeError returns err as a decoded-JSON value for a driver in another language:
// {"kind", "message"} and the fields of its type in snake case. An error without a Kind
// (a host's own) has the kind "". A nil error gives nil.
func EncodeError(err error) any {
	if err == nil {
		return nil
	}
	e := newMapEncoder()
	encodeError(e, err)
	return e.root
}

// AppendErrorJSON appends EncodeError's value as JSON text to dst ("null" for a nil error).
func AppendErrorJSON(dst []byte, err error) []byte {
	if err == nil {
		return append(dst, "null"...)
	}
	e := &jsonEncoder{b: append(dst, '{')}
	encodeError(e, err)
	return append(e.b, '}')
}

// encodeErrorField tells err as the field key of the value being encoded.
func encodeErrorField(e encoder, key string, err error) {
	if err == nil {
		e.null(key)
		return
	}
	e.object(key)
	encodeError(e, err)
	e.end()
}

// encodeError tells err's fields, once for EncodeError and AppendErrorJSON.
func encodeError(e encoder, err error) {
	kind := ""
	if k, ok := err.(interface{ Kind() string }); ok {
		kind = k.Kind()
	}
	e.str("kind", kind)
	e.str("message", err.Error())
	switch err := err.(type) {
	case *ConfigError:
		e.str("field", err.Field)
	case *OAuthError:
		e.num("status", int64(err.Status))
		e.str("grant", err.Grant)
		e.str("error_code", err.ErrorCode)
		e.str("error_description", err.Description)
		e.str("error_uri", err.URI)
	case *APIError:
		e.num("status", int64(err.Status))
		e.str("code", err.Code)
		e.str("resource", err.Resource)
		e.str("request_id", err.RequestID)
	case *ResponseError:
		e.num("status", int64(err.Status))
		e.str("field", err.Field)
		e.str("location", err.Location)
	case *StateError:
		e.str("field", err.Field)
	case *URLError:
		e.str("ref", err.Ref)
	case *TokenError:
		e.str("grant", err.Grant)
		if err.Cause != nil {
			encodeErrorField(e, "cause", err.Cause)
		}
	case *RedirectError:
		e.num("status", int64(err.Status))
		e.str("location", err.Location)
	}
}
