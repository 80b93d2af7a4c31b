package implant

import (
	"cmp"
	"context"
	"log/slog"
	"slices"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// The event log's layout. The log is one sequence, in two spaces that each
// drop their own oldest records: the therapy and the sessions (every core
// entry, and every record of a peer that opened a session: its commands,
// refusals, integrity failures), LogKeep records; and what peers that opened
// no session did, LinkKeep records. Nothing a peer that cannot authenticate
// does can push a record of the first space out. The second space holds
// summaries, not one record per connection: per listen window, one record
// per kind and reason (pumpwire's RADIO_REFUSALS, AUTH_FAILURES, LOCKOUTS)
// with its count, and one RADIO_UNAUTH with the radio time they were charged.
// The first of each kind and reason in a window is written to the console
// (Config.Logger) as it happens, so a person watching sees at once why a
// connection failed.

// LogKeep is how many records of the therapy and the sessions the implant
// holds and serves (the core's own ring holds 4,096); LinkKeep is how many
// records of peers that opened no session it holds beside them.
const (
	LogKeep  = 8192
	LinkKeep = 1024
)

// keep returns the records of rs (in sequence order) that the log holds: the
// last LogKeep of the first space and the last LinkKeep of the second. It
// returns rs itself when nothing is dropped, else a new slice.
func keep(rs []pumpwire.Record) []pumpwire.Record {
	link := 0
	for i := range rs {
		if rs[i].Kind.Unauthenticated() {
			link++
		}
	}
	dropLink, dropMain := max(link-LinkKeep, 0), max(len(rs)-link-LogKeep, 0)
	if dropLink == 0 && dropMain == 0 {
		return rs
	}
	out := make([]pumpwire.Record, 0, len(rs)-dropLink-dropMain)
	for i := range rs {
		if rs[i].Kind.Unauthenticated() {
			if dropLink > 0 {
				dropLink--
				continue
			}
		} else if dropMain > 0 {
			dropMain--
			continue
		}
		out = append(out, rs[i])
	}
	return out
}

// linkWindow counts, for the listen window under way, what peers that
// opened no session did.
type linkWindow struct {
	counts []linkCount // one per kind and reason, in order of first appearance
	conns  int64       // connections that opened no session
	radio  unit.Duration
	charge unit.Charge
	last   unit.Time // pump time of the last thing counted
}

type linkCount struct {
	kind pumpwire.RecordKind // RADIO_REFUSALS, AUTH_FAILURES or LOCKOUTS
	code int64               // the telemetry error code
	n    int64
}

func (w *linkWindow) pending() bool { return len(w.counts) > 0 || w.conns > 0 }

// count adds one of kind for code and reports whether it is the first of its
// kind and code in the window.
func (w *linkWindow) count(at unit.Time, kind pumpwire.RecordKind, code int64) bool {
	w.last = max(w.last, at)
	for i := range w.counts {
		if c := &w.counts[i]; c.kind == kind && c.code == code {
			c.n++
			return false
		}
	}
	w.counts = append(w.counts, linkCount{kind: kind, code: code, n: 1})
	return true
}

// linkEvent counts a telemetry event of a peer that opened no session and
// reports whether it was one. The first of a kind and reason in the window
// is written to the console.
func (im *Implant) linkEvent(now unit.Time, e telemetry.Event, code int64) bool {
	var kind, one pumpwire.RecordKind
	switch {
	case e.Kind == telemetry.EventRefused:
		kind, one = pumpwire.RecRadioRefusals, pumpwire.RecRadioRefused
	case e.Kind == telemetry.EventHandshakeFailed:
		kind, one = pumpwire.RecAuthFailures, pumpwire.RecAuthFailed
	case e.Kind == telemetry.EventLockout:
		kind, one = pumpwire.RecLockouts, pumpwire.RecLockout
	case e.Kind == telemetry.EventSessionClosed && !e.Peer.Authenticated():
		w := &im.window
		w.conns++
		w.radio += e.Radio
		w.charge += e.Charge
		w.last = max(w.last, now)
		return true
	default:
		return false
	}
	if im.window.count(now, kind, code) {
		r := pumpwire.Record{At: now, Kind: one, A: int64(e.Peer.Wake), B: code}
		level := slog.LevelWarn
		if r.Critical() {
			level = slog.LevelError
		}
		im.logger.Log(context.Background(), level, one.String(), "detail", telemetry.Describe(&r),
			"counted", "the first in this listen window; the window's are summed in one "+kind.String()+" record")
	}
	return true
}

// flushLink writes the window's summaries into the log and charges the
// battery the window's radio time, at pump time now; the window starts anew.
// It runs when the radio stops listening, at a wake, before a session opens,
// and when the implant stops (Flush).
func (im *Implant) flushLink(now unit.Time) {
	w := &im.window
	if !w.pending() {
		return
	}
	at := max(w.last, im.lastAt())
	slices.SortFunc(w.counts, func(a, b linkCount) int { return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.code, b.code)) })
	for _, c := range w.counts {
		im.append(pumpwire.Record{At: at, Kind: c.kind, A: c.n, B: c.code})
	}
	if w.conns > 0 {
		im.append(pumpwire.Record{At: at, Kind: pumpwire.RecRadioUnauth, A: int64(w.radio), B: w.conns})
	}
	if w.charge > 0 {
		if err := im.dev.Do(now, func(c *pump.Pump) error { _, err := c.Step(now, pump.Drain{Charge: w.charge}); return err }); err != nil {
			// A depleted pump refuses the drain; nobody waits for an answer.
			im.logger.Warn("the pump core refused the radio drain", "charge", w.charge.String(), "err", err)
		}
	}
	*w = linkWindow{counts: w.counts[:0]}
}

// lastAt is the time of the log's last record.
func (im *Implant) lastAt() unit.Time {
	if n := len(im.records); n > 0 {
		return im.records[n-1].At
	}
	return 0
}

// Flush writes the summaries of the listen window under way now, rather
// than when the radio stops listening (Run calls it as it stops).
func (im *Implant) Flush() error {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.failed != nil {
		return im.failed
	}
	now := im.now()
	im.dev.Run(now)
	im.flushLink(now)
	return im.sync()
}
