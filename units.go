package caspio

// UnixMilli is an instant: milliseconds since the Unix epoch, as JavaScript's Date.now()
// gives it. Zero means "never" or "unknown".
type UnixMilli int64

// Millis is a span of time in milliseconds.
type Millis int64

// Common spans.
const (
	Second Millis = 1000
	Minute        = 60 * Second
	Hour          = 60 * Minute
	Day           = 24 * Hour
)

// Add returns t+d.
func (t UnixMilli) Add(d Millis) UnixMilli { return t + UnixMilli(d) }

// Sub returns the span from u to t.
func (t UnixMilli) Sub(u UnixMilli) Millis { return Millis(t - u) }
