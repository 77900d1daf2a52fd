package caspio

// A joiner's wait, and the takeover of a flight whose runner vanished.
//
// Where one driver serves requests that live and die apart (a Workers isolate: every request
// has its own I/O context, and one that ends, or whose caller goes away, stops mid-await
// without a word), the conversation running a flight can vanish: its token request never
// answers and its next step never comes. A joiner must neither wait on it forever nor
// depend on its I/O to wake. So a join step says how long to wait before asking again
// (Wait), the driver marks a flight's runner alive while it performs the flight's steps
// (every FlightBeat), and feeds with each join result how long the runner has been silent;
// after FlightSilence the joiner takes the flight over (docs/design.md, "Concurrency in
// Workers"). A runner that was only slow and comes back lands its abandoned flight without
// effect on the new one: at most one extra token request.

const (
	// JoinPoll is the Wait of a join step: the longest a joiner waits before it feeds the
	// join result again, woken or not. A joiner is woken sooner when the flight lands in the
	// same driver; the poll is what lets it notice a runner that vanished.
	JoinPoll Millis = 100
	// FlightBeat is how often a driver marks the runner of a flight alive while it performs
	// one of the flight's steps (a step with Flight set, other than join).
	FlightBeat Millis = 250
	// FlightSilence is how long a flight's runner may show no life before a joiner takes
	// the flight over: long enough for a busy event loop to miss several beats.
	FlightSilence Millis = 3 * Second
)

// takeOver reports whether a joiner that saw the flight's runner silent for silent should
// take the flight over.
func takeOver(silent Millis) bool { return silent >= FlightSilence }
