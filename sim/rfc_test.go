package sim

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/thecal/thecal/unit"
)

// TestAppendRFC3339IsTimeFormat: the fast formatter writes what time does,
// for whole days, leap days, every millisecond pattern and random instants
// from before 1970 to after 9999.
func TestAppendRFC3339IsTimeFormat(t *testing.T) {
	check := func(ms int64) {
		want := time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
		if got := string(appendRFC3339(nil, unit.Time(ms))); got != want {
			t.Fatalf("%d: %s, want %s", ms, got, want)
		}
	}
	for _, s := range []string{"1970-01-01T00:00:00Z", "2000-02-29T23:59:59.999Z", "2026-01-05T08:00:00.5Z",
		"2026-12-31T12:34:56.07Z", "1900-03-01T00:00:00.001Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z"} {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		check(tm.UnixMilli())
	}
	g := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		check(g.Int64N(2*300_000_000_000_000) - 300_000_000_000_000) // about ±9,500 years
	}
	for ms := int64(-3 * unit.Day); ms < int64(3*unit.Day); ms += 999_983 {
		check(ms)
	}
}

// FuzzAppendRFC3339 holds the formatter to time's for any instant.
func FuzzAppendRFC3339(f *testing.F) {
	for _, v := range []int64{0, -1, 1, 1767600000000, -62135596800000, 253402300799999, 253402300800000} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, ms int64) {
		if ms > 1<<60 || ms < -(1<<60) {
			return
		}
		want := time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
		if got := string(appendRFC3339(nil, unit.Time(ms))); got != want {
			t.Fatalf("%d: %s, want %s", ms, got, want)
		}
	})
}
