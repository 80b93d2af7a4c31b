package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/thecal/thecal/web"
)

// serveMetrics wires /metrics (issue 14, finding 9: it was public): on a
// listener of its own (--metrics-listen, for a monitoring network or
// loopback), and/or on the API's listener behind a bearer token read from a
// file (--metrics-token-file). With neither, no metrics are served.
func serveMetrics(srv *web.Server, listen, tokenFile string, logger *slog.Logger) (stop func(), err error) {
	stop = func() {}
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return stop, err
		}
		tok := strings.TrimSpace(string(b))
		if len(tok) < 16 {
			return stop, fmt.Errorf("--metrics-token-file %s: the token must be at least 16 characters", tokenFile)
		}
		srv.MetricsToken = tok
	}
	if listen == "" {
		return stop, nil
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return stop, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", srv.MetricsHandler())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener stopped", "err", err)
		}
	}()
	logger.Info("metrics: listening", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			logger.Error("metrics listener shutdown", "err", err)
		}
	}, nil
}
