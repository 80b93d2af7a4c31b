package programmer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/peer"
	"github.com/thecal/thecal/telemetry"
)

// Station is the clinic's programming station (issue 12, item 5): the clinic
// server acting as a clinician programmer for the web interface, with a
// credential the clinic authority issued to the station, and the pumps it
// can reach — its programming head. Each session is the same visit as
// thecal program's, run for the signed-in clinician: the pump's event log
// names the station's credential, the clinic's audit the clinician.
type Station struct {
	Identity telemetry.Identity
	Trust    telemetry.Trust
	// Pumps are the pumps the station reaches, by serial.
	Pumps map[string]StationPump
}

// StationPump is a pump the station reaches: its telemetry address and how
// to wake it by contact (the programming head on the patient's skin; for a
// virtual pump, its control socket).
type StationPump struct {
	Addr string
	Wake func(ctx context.Context) error
}

// ErrUnreachable means the station cannot reach the pump.
var ErrUnreachable = errors.New("programmer: the programming station cannot reach this pump")

// Open wakes the pump with the serial by contact and opens a session with it
// (interrogated, as every clinician session opens).
func (st *Station) Open(ctx context.Context, serial string) (*Session, error) {
	p, ok := st.Pumps[serial]
	if !ok {
		return nil, fmt.Errorf("%w (%s): put the programming head over the pump, or add the pump to the station", ErrUnreachable, serial)
	}
	var n uint64
	if _, err := fmt.Sscan(serial, &n); err != nil {
		return nil, fmt.Errorf("%w: %q is not a pump's serial number", ErrUnreachable, serial)
	}
	if p.Wake != nil {
		if err := p.Wake(ctx); err != nil {
			return nil, fmt.Errorf("waking the pump: %w", err)
		}
	}
	return Open(ctx, peer.Config{Addr: p.Addr, Identity: st.Identity, Trust: st.Trust, PumpSerial: n})
}

// ServiceRecords is the clinic's service as a visit's Records, in-process:
// the web programming station's (and the demonstration's set-up), acting as
// the principal of each call's context — the signed-in clinician.
type ServiceRecords struct{ Svc *clinic.Service }

// Now is the clinic's clock.
func (r ServiceRecords) Now() time.Time { return r.Svc.Now() }

func (r ServiceRecords) Report(ctx context.Context, rep *clinic.Report, _ string) (*clinic.IngestResult, error) {
	return r.Svc.Ingest(ctx, rep)
}

func (r ServiceRecords) Order(ctx context.Context, serial string) (*clinic.PumpOrder, error) {
	return r.Svc.PumpOrder(ctx, serial)
}

func (r ServiceRecords) CheckRefill(ctx context.Context, patientID int64, rf *clinic.Refill) (*clinic.Refill, error) {
	return r.Svc.CheckRefill(ctx, patientID, rf)
}

func (r ServiceRecords) RecordRefill(ctx context.Context, patientID int64, rf *clinic.Refill) (*clinic.Refill, error) {
	if err := r.Svc.RecordRefill(ctx, patientID, rf); err != nil {
		return nil, err
	}
	return rf, nil
}

func (r ServiceRecords) RecordSession(ctx context.Context, up *clinic.SessionUpload) (*clinic.SessionResult, error) {
	return r.Svc.RecordSession(ctx, up)
}

var _ Records = ServiceRecords{}
