package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/thecal/thecal/clinicapi"
	"github.com/thecal/thecal/programmer"
	"github.com/thecal/thecal/unit"
)

// thecal program sync, and refill --clinic: the programmer with the
// clinic's record (docs/loop.md). Wiring only: the visit is package
// programmer's, the clinic's API package clinicapi's.

// clinicFlags say which clinic to record a session in, and with whose token.
type clinicFlags struct {
	url, tokenFile *string
}

func addClinicFlags(f *devFlags, required bool) *clinicFlags {
	what := "the clinic server to record the session in, e.g. http://localhost:8080 (without it the clinic's record is not updated)"
	if required {
		what = "the clinic server, e.g. http://localhost:8080"
		defer f.need("clinic")
	}
	return &clinicFlags{
		url:       f.String("clinic", "", what),
		tokenFile: f.String("token-file", "", "a file holding your API token for the clinic (or THECAL_TOKEN): make one on your account page"),
	}
}

// synced returns the clinic's client with the clinic's clock read (a visit
// dates its reports by it), or nil without --clinic.
func (c *clinicFlags) synced(ctx context.Context) (*clinicapi.Client, error) {
	rec, err := c.client()
	if err != nil || rec == nil {
		return rec, err
	}
	if err := rec.Sync(ctx); err != nil {
		return nil, fmt.Errorf("the clinic at %s: %w", *c.url, err)
	}
	return rec, nil
}

// client returns the clinic's client, or nil without --clinic.
func (c *clinicFlags) client() (*clinicapi.Client, error) {
	if *c.url == "" {
		if *c.tokenFile != "" {
			return nil, errors.New("--token-file without --clinic")
		}
		return nil, nil
	}
	tok := os.Getenv("THECAL_TOKEN")
	if *c.tokenFile != "" {
		b, err := os.ReadFile(*c.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		tok = strings.TrimSpace(string(b))
	}
	return clinicapi.New(*c.url, tok)
}

// notRecorded is what the programmer says after it changed a pump without
// the clinic: the record was not updated.
const notRecorded = "Note: the clinic's record was not updated (no --clinic). The clinic will see the change at the pump's next report, as a difference from the order until the order matches."

func setupSync(f *devFlags) (func(context.Context, *programmer.Programmer) error, func() error) {
	cf := addClinicFlags(f, true)
	return func(ctx context.Context, pr *programmer.Programmer) error {
		rec, err := cf.synced(ctx)
		if err != nil {
			return fmt.Errorf("%w: %w", programmer.ErrRx, err)
		}
		v, err := pr.StartVisit(ctx, rec, nil)
		if err != nil {
			return err
		}
		if err := pr.PlanOrder(v); err != nil {
			v.Write(pr.Out)
			return err
		}
		v.Write(pr.Out)
		_, err = pr.ProgramOrder(ctx, v)
		return err
	}, nil
}

func setupRefill(f *devFlags) (func(context.Context, *programmer.Programmer) error, func() error) {
	w := devQty[unit.Volume](f, "withdrawn", "the volume withdrawn from the reservoir (0mL at a first fill)")
	a := devQty[unit.Volume](f, "added", "the volume now in the reservoir")
	drugName := f.String("drug", "", "the drug filled, typed from the vial (never taken from the program)")
	conc := devQty[unit.Concentration](f, "concentration", "its concentration, typed from the vial, e.g. 2000mcg/mL (never taken from the program)")
	confirmDrug := f.String("confirm-drug", "", "the drug typed a second time from the vial (or give --label)")
	confirmConc := devQty[unit.Concentration](f, "confirm-concentration", "the concentration typed a second time from the vial (or give --label)")
	label := f.String("label", "", "the vial label's text (read or scanned), confirming what was typed once")
	dose := devQty[unit.DoseRate](f, "dose", "the new daily dose: with an ordered change of drug or concentration (default: the same dose), or to restart after an interruption (default: the dose before); not with --clinic, where the order says it")
	lot := f.String("lot", "", "the drug's lot number (required with --clinic: the clinic records it)")
	cf := addClinicFlags(f, false)
	f.need("withdrawn", "added", "drug", "concentration")
	return func(ctx context.Context, pr *programmer.Programmer) error {
			in := programmer.RefillInput{Withdrawn: w.v, Added: a.v, Drug: *drugName, Concentration: conc.v,
				ConfirmDrug: *confirmDrug, ConfirmConcentration: confirmConc.v, Label: *label, Dose: dose.v}
			rec, err := cf.synced(ctx)
			if err != nil {
				return fmt.Errorf("%w: %w", programmer.ErrRx, err)
			}
			if rec == nil {
				if _, err := pr.Refill(ctx, in); err != nil {
					return err
				}
				fmt.Fprintln(pr.Out, notRecorded)
				return nil
			}
			if strings.TrimSpace(*lot) == "" {
				return fmt.Errorf("%w: --lot is required with --clinic", programmer.ErrRx)
			}
			v, err := pr.StartVisit(ctx, rec, nil)
			if err != nil {
				return err
			}
			if err := pr.PlanVisitRefill(ctx, v, programmer.RefillVisit{In: in, Lot: *lot}); err != nil {
				v.Write(pr.Out)
				return err
			}
			v.WriteRefill(pr.Out, pr.Lib)
			_, err = pr.RefillOrder(ctx, v)
			return err
		}, func() error {
			if *cf.url == "" && *lot != "" {
				return errors.New("--lot is for the clinic's record: give --clinic too")
			}
			return nil
		}
}
