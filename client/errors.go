package client

import "strings"

// opError is an error of one of the client's operations ("get token", "do") with the error
// that ended it, under one prefix: "caspio client: do: token endpoint refused ...", where
// fmt.Errorf would stack the prefixes of each layer ("caspio client: do: caspio: token
// endpoint refused ..."). errors.Is and errors.As reach the cause.
type opError struct {
	op  string // "" when the cause says it all
	err error
}

// wrap returns err as the error of op, with one "caspio client:" prefix.
func wrap(op string, err error) error { return &opError{op: op, err: err} }

func (e *opError) Error() string {
	msg := "caspio client: "
	if e.op != "" {
		msg += e.op + ": "
	}
	return msg + unprefixed(e.err.Error())
}

func (e *opError) Unwrap() error { return e.err }

// unprefixed drops the leading "caspio client: " and "caspio: " of a message, as often as
// they come.
func unprefixed(msg string) string {
	for {
		switch {
		case strings.HasPrefix(msg, "caspio client: "):
			msg = msg[len("caspio client: "):]
		case strings.HasPrefix(msg, "caspio: "):
			msg = msg[len("caspio: "):]
		default:
			return msg
		}
	}
}
