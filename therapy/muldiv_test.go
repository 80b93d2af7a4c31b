package therapy

import (
	"math"
	"math/big"
	"testing"

	"pgregory.net/rapid"
)

// TestMulDivFloorMatchesBig: the 128-bit mulDivFloor gives math/big's answer
// over its whole domain (non-negative a and b, positive c, a quotient that
// fits).
func TestMulDivFloorMatchesBig(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := rapid.Int64Range(0, math.MaxInt64).Draw(t, "a")
		b := rapid.Int64Range(0, math.MaxInt64).Draw(t, "b")
		c := rapid.Int64Range(1, math.MaxInt64).Draw(t, "c")
		want := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
		want.Quo(want, big.NewInt(c))
		if !want.IsInt64() {
			t.Skip("the quotient does not fit")
		}
		if got := mulDivFloor(a, b, c); got != want.Int64() {
			t.Fatalf("⌊%d × %d / %d⌋ = %d, want %v", a, b, c, got, want)
		}
	})
}
