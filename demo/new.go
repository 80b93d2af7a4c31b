package demo

import (
	"context"
	"log/slog"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/drug"
)

// New seeds a demonstration clinic on an empty store and starts its virtual
// pumps (stepped by Run or Step). The clock stands still until Clock.Run.
// Sessions last a simulated year, as the clock runs fast.
func New(ctx context.Context, store clinic.Store, lib *drug.Library, o Options, logger *slog.Logger) (*Clinic, error) {
	clock := NewClock(time.Now())
	svc := clinic.NewService(store, lib, logger)
	svc.Now = clock.Now
	svc.Settings.SessionTTL = 365 * 24 * time.Hour
	svc.PasswordParams = clinic.PasswordParams{Time: 1, Memory: 8 * 1024, Threads: 2}
	c, err := Seed(ctx, svc, clock, o)
	if err != nil {
		return nil, err
	}
	if err := c.StartPumps(ctx); err != nil {
		return nil, err
	}
	return c, nil
}
