package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/fhir"
	"github.com/thecal/thecal/store"
	"github.com/thecal/thecal/store/postgres"
	"github.com/thecal/thecal/store/sqlite"
	"github.com/thecal/thecal/web"
)

// openStore opens the store a --db value names.
func openStore(ctx context.Context, db string) (*store.DB, error) {
	switch {
	case strings.HasPrefix(db, "sqlite:"):
		return sqlite.Open(ctx, strings.TrimPrefix(db, "sqlite:"))
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		return postgres.Open(ctx, db, 32)
	}
	return nil, fmt.Errorf("--db %q: write sqlite:PATH or postgres://…", db)
}

func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

func serveCommand() *cobra.Command {
	c := command("serve [--db sqlite:PATH | --db postgres://…] [--listen ADDR] [--init-admin NAME]",
		"run the clinic server (JSON API, /healthz, /metrics)",
		`Runs the clinic server: the JSON API of docs/openapi.yaml, /healthz and
/metrics. The database is migrated at start. With --init-admin and no user
yet, the first administrator is created and its generated password printed
once on standard output. SIGINT or SIGTERM shuts down gracefully.`, noArgs)
	var o serveFlags
	fs := c.Flags()
	fs.StringVar(&o.db, "db", "sqlite:thecal.db", "database: sqlite:PATH or postgres://…")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&o.initAdmin, "init-admin", "", "create this first administrator if there is no user, printing its password once")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (with --tls-key); otherwise plain HTTP behind a TLS proxy")
	fs.StringVar(&o.tlsKey, "tls-key", "", "TLS key file")
	fs.DurationVar(&o.grace, "shutdown-timeout", 30*time.Second, "how long to let requests finish on shutdown")
	fs.StringVar(&o.metricsListen, "metrics-listen", "", "serve /metrics on this address of its own (e.g. 127.0.0.1:9090), not on --listen")
	fs.StringVar(&o.metricsTokenFile, "metrics-token-file", "", "serve /metrics on --listen to requests bearing the token in this file")
	fs.IntVar(&o.maxHashes, "max-password-hashes", clinic.DefaultMaxHashes, "password hashes (64 MiB each) computed at once")
	fs.StringVar(&o.station, "station", "", "act as the clinic's programming station: its credential and the pumps it reaches (docs/loop.md)")
	c.RunE = runs(func(_ []string, stdout, stderr io.Writer) int { return serve(o, stdout, stderr) })
	return c
}

// serveFlags are thecal serve's flags.
type serveFlags struct {
	db, listen, initAdmin, logFormat, tlsCert, tlsKey, metricsListen, metricsTokenFile, station string
	grace                                                                                       time.Duration
	maxHashes                                                                                   int
}

func serve(o serveFlags, stdout, stderr io.Writer) int {
	logger := newLogger(stderr, o.logFormat)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, err := openStore(ctx, o.db)
	if err != nil {
		logger.Error("cannot open the database", "err", err)
		return 1
	}
	defer func() {
		if err := db.Close(); err != nil {
			logger.Error("closing the database", "err", err)
		}
	}()
	svc := clinic.NewService(db, drug.Default(), logger)
	// The newest drug library version the clinic published is in force; the
	// embedded default only while none is. One that no longer loads stops
	// the server rather than falling back silently.
	if _, err := svc.LoadLibrary(ctx); err != nil {
		logger.Error("cannot load the published drug library", "err", err)
		return 1
	}
	if o.initAdmin != "" {
		pw, err := svc.Bootstrap(ctx, o.initAdmin)
		switch {
		case clinic.ErrorCode(err) == clinic.ECONFLICT:
			logger.Info("users exist already: --init-admin ignored")
		case err != nil:
			logger.Error("cannot create the first administrator", "err", err)
			return 1
		default:
			// The password goes to standard output once, never to the log.
			fmt.Fprintf(stdout, "administrator %q created; password (shown once): %s\n", o.initAdmin, pw)
		}
	}
	svc.MaxHashes = o.maxHashes
	srv := web.NewServer(svc, logger)
	srv.Export = fhir.Bundle
	if err := srv.ShareKeys(ctx); err != nil {
		logger.Error("cannot read the servers' shared keys", "err", err)
		return 1
	}
	if o.station != "" {
		st, err := readStation(o.station)
		if err != nil {
			logger.Error("cannot set up the programming station", "err", err)
			return 1
		}
		srv.SetStation(st)
		logger.Info("programming station", "credential", st.Identity.Credential.Name, "pumps", len(st.Pumps))
	}
	stopMetrics, err := serveMetrics(srv, o.metricsListen, o.metricsTokenFile, logger)
	if err != nil {
		logger.Error("metrics", "err", err)
		return 1
	}
	defer stopMetrics()
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		logger.Error("cannot listen", "addr", o.listen, "err", err)
		return 1
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	logger.Info("thecal serve: listening", "addr", ln.Addr().String(), "db", strings.SplitN(o.db, ":", 2)[0],
		"library", svc.Library().Version, "library_digest", svc.Library().Digest)
	if err := serveHTTP(ctx, hs, ln, o.tlsCert, o.tlsKey, o.grace, func() { logger.Info("shutting down: finishing requests in flight") }); err != nil {
		logger.Error("server stopped", "err", err)
		return 1
	}
	logger.Info("stopped")
	return 0
}

// serveHTTP serves on ln (with TLS when certFile is given) until ctx is done
// or the server fails; then, after stopping(), it lets requests in flight
// finish within grace.
func serveHTTP(ctx context.Context, hs *http.Server, ln net.Listener, certFile, keyFile string, grace time.Duration, stopping func()) error {
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			errc <- hs.ServeTLS(ln, certFile, keyFile)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stopping()
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	return hs.Shutdown(sctx)
}

func usersCommand() *cobra.Command {
	c := command("add --db DB --username NAME --name \"FULL NAME\" --role ROLE", "add a clinic user",
		`Adds a user (physician, nurse, administrator or read-only) directly in the
database, printing a generated password once. An administrator adds users
through the API otherwise (POST /api/v1/users).`, noArgs)
	fs := c.Flags()
	dbURL := fs.String("db", "sqlite:thecal.db", "database: sqlite:PATH or postgres://…")
	username := fs.String("username", "", "username")
	name := fs.String("name", "", "full name")
	role := fs.String("role", "", "physician, nurse, administrator or read-only")
	c.RunE = runs(func(_ []string, stdout, stderr io.Writer) int {
		return addUser(dbURL, username, name, role, stdout, stderr)
	})
	return group("users", "add a clinic user from the command line", "", "subcommand", c)
}

func addUser(dbURL, username, name, role *string, stdout, stderr io.Writer) int {
	ctx := context.Background()
	db, err := openStore(ctx, *dbURL)
	if err != nil {
		fmt.Fprintf(stderr, "thecal users: %v\n", err)
		return 1
	}
	defer func() {
		if err := db.Close(); err != nil {
			fmt.Fprintf(stderr, "thecal users: closing the database: %v\n", err)
		}
	}()
	svc := clinic.NewService(db, drug.Default(), nil)
	pw := clinic.NewSecret("")[:24]
	r := clinic.Role(*role)
	if _, err := svc.CreateUser(clinic.NewContext(ctx, clinic.System), clinic.UserInput{Username: *username, Name: name, Role: &r, Password: &pw}); err != nil {
		fmt.Fprintf(stderr, "thecal users add: %s: %s\n", clinic.ErrorField(err), clinic.ErrorMessage(err))
		return exitUsage
	}
	fmt.Fprintf(stdout, "user %q (%s) created; password (shown once): %s\n", *username, r, pw)
	return 0
}
