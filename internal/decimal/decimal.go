// Package decimal formats integers in base 10 for the core and its WebAssembly bridge, which
// must not link strconv: without it, the .wasm leaves out the errors package and the type
// names that strconv's error values bring (BENCHMARKS.md, "caspio.wasm size").
package decimal

// AppendInt is strconv.AppendInt(b, n, 10).
func AppendInt(b []byte, n int64) []byte {
	var digits [20]byte
	i := len(digits)
	u := uint64(n)
	if n < 0 {
		u = -u
		b = append(b, '-')
	}
	for {
		i--
		digits[i] = byte('0' + u%10)
		if u /= 10; u == 0 {
			return append(b, digits[i:]...)
		}
	}
}
