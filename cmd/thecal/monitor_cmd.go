package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/monitor"
	"github.com/thecal/thecal/peer"
	"github.com/thecal/thecal/unit"
)

// thecal monitor run: the patient's home monitor. Wiring only: the monitor
// is package monitor's.

func monitorCommand() *cobra.Command {
	return group("monitor", "the patient's home monitor: reads the pump in its scheduled windows, forwards to the clinic",
		`The patient's home monitor (docs/loop.md): a bedside relay with a monitor-role
credential for one pump. It reads the pump's status and event log in the pump's
scheduled wake windows ('thecal pump run --monitor-every') and posts each
reading to the clinic, storing reports on disk while the clinic is unreachable.`, "subcommand", monitorRun())
}

func monitorRun() *cobra.Command {
	c, f := devCommand("run", "--state DIR --pump ADDR --clinic URL --token-file F --id F --trust F --serial N [--every 6h]",
		"run the home monitor until interrupted",
		`Runs the home monitor until interrupted (Ctrl-C, SIGTERM). DIR holds its queue of
reports (created, mode 0700): a reading is on disk before the clinic is tried,
and leaves it only when the clinic holds it; reports go in the order read, one
at a time, with backoff while the clinic is unreachable, and survive kill -9 and
a reboot. The token (--token-file, or THECAL_TOKEN) is a monitor token bound to
the pump's serial (POST /api/v1/tokens). --every is the pump's scheduled window
period: the monitor reads the pump once in each window.`, noArgs)
	state := f.String("state", "", "the monitor's state directory (its queue)")
	pumpAddr := f.String("pump", envOr("THECAL_PUMP", "127.0.0.1:7400"), "the pump's address (THECAL_PUMP)")
	id := f.String("id", os.Getenv("THECAL_ID"), "the monitor's identity file, role monitor, from 'thecal keys issue' (THECAL_ID)")
	trust := f.String("trust", os.Getenv("THECAL_TRUST"), "the trust file of the authority that enrolled the pump (THECAL_TRUST)")
	serial := devQty[serialNumber](f, "serial", "the pump's serial: the monitor reads that pump only")
	every := flagOf[unit.Duration](f.FlagSet, "every", "6h", "the pump's scheduled window period (its --monitor-every)")
	poll := flagOf[unit.Duration](f.FlagSet, "poll", "1s", "within a window, the time between tries while the pump does not answer")
	maxBackoff := flagOf[unit.Duration](f.FlagSet, "max-backoff", "5m", "the longest wait before sending again to a clinic that does not answer")
	cf := addClinicFlags(f, true)
	f.need("state", "serial")
	c.RunE = f.runs(func(stdout, stderr io.Writer) int {
		if every.v < unit.Second || poll.v < 10*unit.Millisecond || maxBackoff.v < unit.Second {
			return f.fail("--every and --max-backoff are at least 1s, --poll at least 10ms")
		}
		if *id == "" || *trust == "" {
			return f.fail("--id and --trust are required (or THECAL_ID and THECAL_TRUST)")
		}
		ident, tr, err := peer.Load(*id, *trust)
		if err != nil {
			return f.fail("%v", err)
		}
		rec, err := cf.client()
		if err != nil {
			return f.fail("%v", err)
		}
		q, err := monitor.OpenQueue(*state)
		if err != nil {
			return f.fail("%v", err)
		}
		defer q.Close()
		logger := slog.New(slog.NewTextHandler(stderr, nil))
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := rec.Sync(ctx); err != nil {
			logger.Warn("the clinic does not answer yet: readings are queued, dated by this machine's clock until it does", "err", err)
		}
		fmt.Fprintf(stdout, "home monitor of pump #%d at %s, reading it every %v, reporting to %s\n", serial.v, *pumpAddr, every.v, *cf.url)
		err = monitor.Run(ctx, monitor.Config{Queue: q, Clinic: rec,
			Pump:  peer.Config{Addr: *pumpAddr, Identity: ident, Trust: tr, PumpSerial: uint64(serial.v)},
			Every: every.v.Std(), Poll: poll.v.Std(), MaxBackoff: maxBackoff.v.Std(), Logger: logger, Clock: rec.Now,
			Read: func(r *clinic.Report) {
				fmt.Fprintf(stdout, "read pump %s at %s: %d log records, %d active alarms\n", r.Serial,
					r.InterrogatedAt.Format("2006-01-02T15:04:05.000Z07:00"), len(r.Log), len(r.Status.ActiveAlarms))
			},
			Forwarded: func(r *clinic.Report, res *clinic.IngestResult) {
				what := "stored"
				if res.Duplicate {
					what = "a duplicate of what the clinic holds"
				}
				waiting, _ := q.Len(context.Background())
				fmt.Fprintf(stdout, "sent the reading of %s: report %d, %s; order %d %s; %d differences from the order, %d from the last fill; %d waiting\n",
					r.InterrogatedAt.Format("2006-01-02T15:04:05.000Z07:00"), res.ReportID, what, res.Order, res.State, len(res.Program), len(res.Reservoir), waiting)
			}})
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", f.prog, err)
			return 1
		}
		n, _ := q.Len(context.Background())
		fmt.Fprintf(stdout, "monitor stopped; %d reports wait in %s\n", n, *state)
		return 0
	})
	return c
}
