//go:build !(js && wasm) || caspio_fmt

package caspio

import "fmt"

// Format prints the config as String describes it under every fmt verb: %v, %+v, %s, %q, %x
// and %X format String's text, %#v GoString's, and any other verb (%d, %o...) prints
// "%!d(caspio.Config=" + String + ")", as fmt marks a verb that does not fit, so that no
// verb prints a field raw. GOOS=js builds have it only with the tag caspio_fmt: importing
// fmt would cost the npm package's WebAssembly core about 57 KB brotli, and nothing in it
// formats a Config with fmt. A Go Worker that logs a Config with fmt builds with
// -tags caspio_fmt (docs/design.md, Open).
func (c Config) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, c.GoString())
			return
		}
		fmt.Fprintf(f, fmt.FormatString(f, 's'), c.String())
	case 's', 'q', 'x', 'X':
		fmt.Fprintf(f, fmt.FormatString(f, verb), c.String())
	default:
		fmt.Fprintf(f, "%%!%c(caspio.Config=%s)", verb, c.String())
	}
}
