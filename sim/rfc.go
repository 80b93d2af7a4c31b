package sim

import (
	"time"

	"github.com/thecal/thecal/unit"
)

// appendRFC3339 appends t as time.RFC3339Nano writes it in UTC (the
// milliseconds trimmed of trailing zeros, none if whole seconds), without
// time's general formatter: reports write a time for every log entry, and a
// long run's report is mostly times. Years outside 0000–9999 fall back to it.
func appendRFC3339(b []byte, t unit.Time) []byte {
	ms := int64(t)
	days := ms / int64(unit.Day)
	rem := ms % int64(unit.Day)
	if rem < 0 {
		days, rem = days-1, rem+int64(unit.Day)
	}
	y, m, d := civil(days)
	if y < 0 || y > 9999 {
		return append(b, t.Std().Format(time.RFC3339Nano)...)
	}
	b = append4(b, y)
	b = append(b, '-')
	b = append2(b, m)
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, 'T')
	b = append2(b, int(rem/int64(unit.Hour)))
	b = append(b, ':')
	b = append2(b, int(rem/int64(unit.Minute)%60))
	b = append(b, ':')
	b = append2(b, int(rem/int64(unit.Second)%60))
	if f := int(rem % 1000); f != 0 {
		b = append(b, '.', byte('0'+f/100))
		if f%100 != 0 {
			b = append(b, byte('0'+f/10%10))
			if f%10 != 0 {
				b = append(b, byte('0'+f%10))
			}
		}
	}
	return append(b, 'Z')
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's days_from_civil, inverted).
func civil(z int64) (y, m, d int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	y = int(yoe + era*400)
	if m <= 2 {
		y++
	}
	return y, m, d
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func append4(b []byte, v int) []byte {
	return append(b, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}
