package decimal

import (
	"math"
	"strconv"
	"testing"
)

func TestAppendIntIsStrconv(t *testing.T) {
	for _, n := range []int64{0, 1, -1, 9, 10, -10, 99, 100, 12345, -98765, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1} {
		if got, want := string(AppendInt([]byte("x"), n)), strconv.AppendInt([]byte("x"), n, 10); got != string(want) {
			t.Errorf("AppendInt(%d) = %q, want %q", n, got, want)
		}
	}
}
