package programmer

import (
	"time"
	_ "time/tzdata" // the time zone database, whatever the host has

	"github.com/thecal/thecal/unit"
)

// DSTWarning is how far ahead SetClock looks for a change of UTC offset in
// the patient's time zone (daylight saving time): flex doses follow the pump's
// fixed offset, so after the change they run an hour early or late until the
// offset is set again (hazard H15).
const DSTWarning = 14 * 24 * time.Hour

// ZoneChange is the next change of a time zone's UTC offset.
type ZoneChange struct {
	At     time.Time
	Offset unit.Duration // the offset from At on
}

// ZoneOffset returns the UTC offset of loc at t and, if the offset changes
// within the next `within`, when and to what. It uses Go's time zone database
// (embedded in the binary), so the rule is the IANA database's for loc.
func ZoneOffset(loc *time.Location, t time.Time, within time.Duration) (unit.Duration, *ZoneChange) {
	_, off := t.In(loc).Zone()
	offset := unit.Duration(off) * unit.Second
	// Offsets change on whole minutes at the finest: step by the hour, then
	// narrow down to the minute.
	for s := time.Hour; s <= within; s += time.Hour {
		_, o := t.Add(s).In(loc).Zone()
		if o == off {
			continue
		}
		lo, hi := t.Add(s-time.Hour), t.Add(s)
		for hi.Sub(lo) > time.Minute {
			mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Minute)
			if mid.Equal(lo) {
				break
			}
			if _, m := mid.In(loc).Zone(); m == off {
				lo = mid
			} else {
				hi = mid
			}
		}
		return offset, &ZoneChange{At: hi, Offset: unit.Duration(o) * unit.Second}
	}
	return offset, nil
}
