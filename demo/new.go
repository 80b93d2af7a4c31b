package demo

import (
	"context"
	"log/slog"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/drug"
)

// New seeds a demonstration clinic on an empty store. The clock stands still
// until Clock.Run; the pumps and their monitors run once Start is called
// with the clinic server's URL. Sessions last a simulated year, as the clock
// runs fast.
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
	c.logger = logger
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
