package clinic

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// ReportFormat is the format name an interrogation report declares.
const ReportFormat = "thecal-report/1"

// Report is a pump interrogation report as a home monitor or a programmer
// posts it (docs/clinic.md, "Interrogation reports"): the pump's status, the
// alarms raised, and the event log since the last report.
type Report struct {
	Format         string        `json:"format"`
	Serial         string        `json:"serial"`
	Model          pump.Model    `json:"model"`
	InterrogatedAt time.Time     `json:"interrogated_at"`
	Source         string        `json:"source"` // home_monitor or programmer
	Status         ReportStatus  `json:"status"`
	Alarms         []ReportAlarm `json:"alarms,omitempty"`
	Log            []ReportEvent `json:"log,omitempty"`
}

// ReportStatus is what the interrogation read.
type ReportStatus struct {
	Running       bool               `json:"running"`
	Mode          string             `json:"mode"` // continuous, flex, minimum, stopped
	Drug          string             `json:"drug"`
	Concentration unit.Concentration `json:"concentration"`
	Basal         unit.Rate          `json:"basal"`
	Reservoir     unit.Volume        `json:"reservoir"`
	Delivered     unit.Volume        `json:"delivered"`
	Battery       unit.Charge        `json:"battery"`
	ActiveAlarms  []string           `json:"active_alarms,omitempty"`
	// Program is the prescription the pump runs (absent: it runs none, or
	// the relay does not say); reconciliation compares it with the order.
	Program *Program `json:"program,omitempty"`
	// PumpTime is the pump's own clock at the reading (the relay's clock is
	// interrogated_at); LogNext the sequence number the pump's event log
	// gives its next record. Absent from a relay that does not read them.
	PumpTime time.Time `json:"pump_time,omitzero"`
	LogNext  uint64    `json:"log_next,omitempty"`
}

// ReportAlarm is an alarm the pump raised, with when.
type ReportAlarm struct {
	Code     string    `json:"code"`
	RaisedAt time.Time `json:"raised_at"`
}

// ReportEvent is one event log entry.
type ReportEvent struct {
	Seq    uint64    `json:"seq"`
	At     time.Time `json:"at"`
	Event  string    `json:"event"`
	Detail string    `json:"detail,omitempty"`
}

// Quotas of a report (issue 14, finding 6: a monitor token filled the disk
// with 7 MiB reports). A real interrogation — status, active alarms and a
// day's event log — is under 8 KB (docs/clinic.md, measured from the
// demonstration clinic); the caps leave a wide margin without letting one
// report cost more than MaxReportBytes.
const (
	// MaxReportBytes bounds a posted report's JSON body.
	MaxReportBytes = 64 << 10
	// MaxLogEntries bounds the log a report may carry.
	MaxLogEntries = 256
	// MaxReportAlarms bounds the alarms and the active alarms.
	MaxReportAlarms = 32
	maxEventName    = 32
	maxEventDetail  = 200
	maxDrugName     = 64
)

// StoredReport is a received report as the clinic keeps it.
type StoredReport struct {
	Meta
	Report
	ImplantID  int64  `json:"implant_id"`
	Key        string `json:"key"`  // serial and interrogation time: a report sent twice has the same
	Hash       string `json:"hash"` // SHA-256 of the report's canonical JSON
	ReceivedBy string `json:"received_by"`
	// ByMonitor is set when a home monitor's credential (a monitor token)
	// sent the report: only such a report verifies an order.
	ByMonitor bool `json:"by_monitor,omitempty"`
}

// IngestResult says what became of a report.
type IngestResult struct {
	ReportID  int64   `json:"report_id"`
	PatientID int64   `json:"patient_id"`
	Duplicate bool    `json:"duplicate"`
	Alarms    []int64 `json:"alarms"` // alarm records created
	// The report reconciled with the record (Reconcile): the order in force
	// and its state after the report, the order the pump runs, and every
	// difference (each a critical worklist item).
	Order     int64        `json:"order,omitempty"`
	State     OrderState   `json:"order_state,omitempty"`
	Running   int64        `json:"running_order,omitempty"`
	Program   []Difference `json:"prescription_mismatch"`
	Reservoir []Difference `json:"reservoir_mismatch"`
}

func (r *Report) check(now time.Time) error {
	if r.Format != ReportFormat {
		return Errorf(EINVALID, "format", "must be %q", ReportFormat)
	}
	r.Serial = strings.TrimSpace(r.Serial)
	if r.Serial == "" || len(r.Serial) > 64 {
		return Errorf(EINVALID, "serial", "the pump's serial number is required (at most 64 bytes)")
	}
	if err := checkText("serial", r.Serial, false); err != nil {
		return err
	}
	if !r.Model.Valid() {
		return Errorf(EINVALID, "model", "must be TP-20 or TP-40")
	}
	if err := notFuture("interrogated_at", r.InterrogatedAt, now); err != nil {
		return err
	}
	r.InterrogatedAt = r.InterrogatedAt.UTC().Truncate(time.Millisecond)
	if err := oneOf("source", r.Source, []string{"home_monitor", "programmer"}); err != nil {
		return err
	}
	if err := oneOf("status.mode", r.Status.Mode, []string{"continuous", "flex", "minimum", "stopped"}); err != nil {
		return err
	}
	if r.Status.Reservoir < 0 || r.Status.Reservoir > pump.TP40.Reservoir()+pump.TP40.DiscrepancyLimit() {
		return Errorf(EINVALID, "status.reservoir", "%s is not a possible reservoir volume", r.Status.Reservoir)
	}
	if r.Status.Battery < 0 || r.Status.Battery > pump.BatteryCapacity {
		return Errorf(EINVALID, "status.battery", "%s is outside 0 to %s", r.Status.Battery, pump.BatteryCapacity)
	}
	if len(r.Status.Drug) > maxDrugName {
		return Errorf(EINVALID, "status.drug", "at most %d bytes", maxDrugName)
	}
	if err := checkText("status.drug", r.Status.Drug, false); err != nil {
		return err
	}
	if !r.Status.PumpTime.IsZero() {
		if err := dateInRange("status.pump_time", r.Status.PumpTime); err != nil {
			return err
		}
		r.Status.PumpTime = r.Status.PumpTime.UTC().Truncate(time.Millisecond)
	}
	if err := checkProgram("status.program", r.Status.Program); err != nil {
		return err
	}
	if len(r.Status.ActiveAlarms) > MaxReportAlarms {
		return Errorf(ETOOLARGE, "status.active_alarms", "at most %d", MaxReportAlarms)
	}
	if len(r.Alarms) > MaxReportAlarms {
		return Errorf(ETOOLARGE, "alarms", "at most %d", MaxReportAlarms)
	}
	for i, a := range r.Status.ActiveAlarms {
		if _, ok := pump.ParseAlarm(a); !ok {
			return Errorf(EINVALID, fmt.Sprintf("status.active_alarms[%d]", i), "%q is not a pump alarm", a)
		}
	}
	for i, a := range r.Alarms {
		if _, ok := pump.ParseAlarm(a.Code); !ok {
			return Errorf(EINVALID, fmt.Sprintf("alarms[%d].code", i), "%q is not a pump alarm", a.Code)
		}
		if a.RaisedAt.IsZero() || a.RaisedAt.After(r.InterrogatedAt) {
			return Errorf(EINVALID, fmt.Sprintf("alarms[%d].raised_at", i), "is required and not after interrogated_at")
		}
		r.Alarms[i].RaisedAt = a.RaisedAt.UTC().Truncate(time.Millisecond)
	}
	if len(r.Log) > MaxLogEntries {
		return Errorf(ETOOLARGE, "log", "at most %d entries in one report", MaxLogEntries)
	}
	for i, e := range r.Log {
		f := fmt.Sprintf("log[%d]", i)
		if e.Event == "" || len(e.Event) > maxEventName {
			return Errorf(EINVALID, f+".event", "is required (at most %d bytes)", maxEventName)
		}
		if len(e.Detail) > maxEventDetail {
			return Errorf(EINVALID, f+".detail", "at most %d bytes", maxEventDetail)
		}
		if err := checkText(f+".event", e.Event, false); err != nil {
			return err
		}
		if err := checkText(f+".detail", e.Detail, false); err != nil {
			return err
		}
	}
	return nil
}

// ReportKey is the idempotency key of a report: the pump and the moment it was
// interrogated. The same report sent twice has the same key.
func ReportKey(serial string, at time.Time) string {
	return serial + "@" + strconv.FormatInt(at.UnixMilli(), 10)
}

// Ingest stores an interrogation report once, however often it is sent, and
// turns its alarms into alarm records and the patient's worklist. A report
// with the key of a stored one but other content is refused (ECONFLICT). The
// report is reconciled with the clinic's record (Reconcile): an order it
// shows the pump running moves forward (order.go), and a difference is a
// critical worklist item.
func (s *Service) Ingest(ctx context.Context, r *Report) (*IngestResult, error) {
	if err := s.allow(ctx, IngestReports); err != nil {
		return nil, err
	}
	if err := s.checkReport(ctx, r); err != nil {
		return nil, err
	}
	res := &IngestResult{}
	err := s.write(ctx, IngestReports, func(o *op) error {
		var err error
		res, err = s.ingestIn(o, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// checkReport checks a report and who sends it: a monitor token reports for
// the pump it is bound to, as a home monitor.
func (s *Service) checkReport(ctx context.Context, r *Report) error {
	if err := r.check(s.now()); err != nil {
		return err
	}
	p := FromContext(ctx)
	switch {
	case p.Role != Monitor:
	case p.TokenID != 0 && p.Serial == "":
		// A token made before tokens were bound to a pump.
		return Errorf(EFORBIDDEN, "serial", "this token is bound to no pump: an administrator issues one bound to the pump's serial")
	case p.Serial != r.Serial:
		return Errorf(EFORBIDDEN, "serial", "this token reports for pump %s only", p.Serial)
	case r.Source != "home_monitor":
		return Errorf(EINVALID, "source", "a home monitor's token reports as home_monitor")
	}
	return nil
}

// ingestIn stores a checked report in the write o (see Ingest).
func (s *Service) ingestIn(o *op, r *Report) (*IngestResult, error) {
	canon, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(canon)
	hash := hex.EncodeToString(sum[:])
	res := &IngestResult{}
	err = func() error {
		im, err := implantBySerial(o.tx, r.Serial)
		if err != nil {
			return err
		}
		if im.Model != r.Model {
			return Errorf(EINVALID, "model", "pump %s is a %s, not a %s", r.Serial, im.Model, r.Model)
		}
		sr := &StoredReport{Meta: Meta{PatientID: im.PatientID}, Report: *r, ImplantID: im.ID,
			Key: ReportKey(r.Serial, r.InterrogatedAt), Hash: hash, ReceivedBy: o.p.Name,
			ByMonitor: o.p.Role == Monitor || o.p == System && r.Source == "home_monitor"}
		created, err := o.create(sr)
		if err != nil {
			return err
		}
		res.ReportID, res.PatientID, res.Alarms = sr.ID, im.PatientID, []int64{}
		o.result(res)
		if !created {
			if sr.Hash != hash {
				return Errorf(ECONFLICT, "interrogated_at", "a different report from pump %s at %s is stored already (report %d)",
					r.Serial, r.InterrogatedAt.Format(time.RFC3339Nano), sr.ID)
			}
			res.Duplicate = true
			return s.reconciled(o, sr, res, false)
		}
		open, err := list[Alarm](o.tx, RecordFilter{PatientID: im.PatientID, Kind: KindAlarm, OpenOnly: true})
		if err != nil {
			return err
		}
		// An open alarm the pump still shows is not raised again; one a
		// report has cleared is, when it comes back.
		seen := map[string]bool{}
		openAt := map[string][]time.Time{}
		for _, a := range open {
			if a.Serial == r.Serial && a.ClearedAt == nil {
				seen[a.Code] = true
				openAt[a.Code] = append(openAt[a.Code], a.RaisedAt)
			}
		}
		raise := func(code string, at time.Time) error {
			// The same raise told by two relays (a monitor and a programmer)
			// comes dated by two clocks: an open alarm of the code raised within
			// the clocks' tolerance is that alarm.
			for _, t := range openAt[code] {
				if d := at.Sub(t); d < s.Settings.PumpClockTolerance && d > -s.Settings.PumpClockTolerance {
					return nil
				}
			}
			alarm, _ := pump.ParseAlarm(code)
			a := &Alarm{Meta: Meta{PatientID: im.PatientID}, ImplantID: im.ID, Serial: r.Serial, Code: code,
				Critical: alarm.Critical(), RaisedAt: at, ReportID: sr.ID}
			created, err := o.create(a)
			if err != nil {
				return err
			}
			if created {
				res.Alarms = append(res.Alarms, a.ID)
			}
			seen[code] = true
			return nil
		}
		for _, a := range r.Alarms {
			if err := raise(a.Code, a.RaisedAt); err != nil {
				return err
			}
		}
		// An alarm active now but not reported as raised (raised before the last
		// report, or by a pump whose monitor missed it) is recorded once.
		for _, code := range r.Status.ActiveAlarms {
			if !seen[code] {
				if err := raise(code, r.InterrogatedAt); err != nil {
					return err
				}
			}
		}
		// An alarm the report no longer shows is cleared: a critical one
		// leaves the worklist if it was acknowledged (issue 11 item 6).
		if err := o.clearAlarms(sr, open); err != nil {
			return err
		}
		return s.reconciled(o, sr, res, true)
	}()
	if err != nil {
		return nil, err
	}
	return res, nil
}

// implantBySerial finds the implanted pump with a serial.
func implantBySerial(tx Tx, serial string) (*Implant, error) {
	recs, err := tx.Records(RecordFilter{Kind: KindImplant, Key: serial})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, Errorf(EINVALID, "serial", "no pump %s is recorded as implanted", serial)
	}
	im := new(Implant)
	if err := decode(recs[0], im); err != nil {
		return nil, err
	}
	if !im.Active() {
		return nil, Errorf(EINVALID, "serial", "pump %s was explanted on %s", serial, im.ExplantedAt.Format(time.DateOnly))
	}
	return im, nil
}

// reconciled reconciles stored report sr with the record and, for a new
// report, moves the order it shows the pump running forward; res says what
// it found.
func (s *Service) reconciled(o *op, sr *StoredReport, res *IngestResult, fresh bool) error {
	rc, err := s.reconcileReport(o.tx, sr)
	if err != nil {
		return err
	}
	res.Program, res.Reservoir = append([]Difference{}, rc.Program...), append([]Difference{}, rc.Reservoir...)
	if rc.Running != nil {
		res.Running = rc.Running.ID
		if before := *rc.Running; fresh && rc.Running.advance(sr) {
			if err := o.update(&before, rc.Running); err != nil {
				return err
			}
		}
	}
	if rc.Order != nil {
		res.Order, res.State = rc.Order.ID, rc.Order.OrderState()
		if rc.Running != nil && rc.Running.ID == rc.Order.ID {
			res.State = rc.Running.OrderState()
		}
	}
	return nil
}

// checkProgram checks a program a pump reported (nil: none): it is the
// pump's, so only what the record cannot hold is refused.
func checkProgram(field string, p *Program) error {
	switch {
	case p == nil:
		return nil
	case p.Mode < pump.ModeStopped || p.Mode > pump.ModeMinimum:
		return Errorf(EINVALID, field+".mode", "is required: %s", modeList())
	case len(p.Drug) > maxDrugName:
		return Errorf(EINVALID, field+".drug", "at most %d bytes", maxDrugName)
	}
	return checkText(field+".drug", p.Drug, false)
}
