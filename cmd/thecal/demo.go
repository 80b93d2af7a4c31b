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
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/thecal/thecal/demo"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/fhir"
	"github.com/thecal/thecal/store/sqlite"
	"github.com/thecal/thecal/web"
)

func demoCommand() *cobra.Command {
	c := command("demo [--listen ADDR] [--db PATH] [--speed N] [--patients N [--years N]] [--exit-after D]",
		"a demonstration clinic with virtual pumps, in the browser",
		`Starts the clinic server with its web interface on a fresh SQLite file (in a
temporary directory unless --db names a file that does not exist yet), seeds
a demonstration clinic (six patients at different stages, with physician,
nurse and administrator sign-ins printed once), and runs the patients'
virtual pumps in-process on a clock --speed times faster than real time;
they report to the clinic so alarms and the worklist change as you watch.
--patients N adds N generated patients with up to --years of history each
(a clinic at scale; the same every time). Ctrl-C stops it.`, noArgs)
	fs := c.Flags()
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on")
	dbPath := fs.String("db", "", "SQLite file to create (default: a temporary directory, removed at exit)")
	speed := fs.Float64("speed", 3600, "simulated seconds per real second (3600: one simulated hour a second)")
	exitAfter := fs.Duration("exit-after", 0, "stop after this long (for tests); 0 runs until Ctrl-C")
	verbose := fs.BoolP("verbose", "v", false, "log every request")
	patients := fs.Int("patients", 0, "generated patients to add beside the six described ones")
	years := fs.Int("years", 10, "years of history of the generated patients, at most (1 to 50)")
	c.RunE = runs(func(_ []string, stdout, stderr io.Writer) int {
		if *patients < 0 || *years < 1 || *years > 50 {
			fmt.Fprintln(stderr, "thecal demo: --patients must be 0 or more and --years 1 to 50")
			return exitUsage
		}
		return demoRun(*listen, *dbPath, *speed, *exitAfter, *verbose, demoGenerate(*patients, *years, stdout), stdout, stderr)
	})
	return c
}

// demoGenerate is the demonstration's options for --patients, with a
// progress line every thousand patients.
func demoGenerate(patients, years int, stdout io.Writer) demo.Options {
	o := demo.Options{Patients: patients, Years: years}
	if patients > 0 {
		start := time.Now()
		fmt.Fprintf(stdout, "generating %d patients with up to %d years of history…\n", patients, years)
		o.Progress = func(done int) {
			if done%1000 == 0 || done == patients {
				fmt.Fprintf(stdout, "  %d patients (%s)\n", done, time.Since(start).Round(time.Second))
			}
		}
	}
	return o
}

func demoRun(listen, dbPath string, speed float64, exitAfter time.Duration, verbose bool, opts demo.Options, stdout, stderr io.Writer) int {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	path := dbPath
	if path == "" {
		dir, err := os.MkdirTemp("", "thecal-demo-")
		if err != nil {
			fmt.Fprintln(stderr, "thecal demo:", err)
			return 1
		}
		defer func() {
			if err := os.RemoveAll(dir); err != nil {
				fmt.Fprintln(stderr, "thecal demo: the temporary database is left behind:", err)
			}
		}()
		path = filepath.Join(dir, "demo.db")
	} else if _, err := os.Stat(path); err == nil {
		fmt.Fprintf(stderr, "thecal demo: %s exists: the demonstration seeds a fresh database\n", path)
		return 1
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		fmt.Fprintln(stderr, "thecal demo: cannot open the database:", err)
		return 1
	}
	defer func() {
		if err := db.Close(); err != nil {
			fmt.Fprintln(stderr, "thecal demo: closing the database:", err)
		}
	}()
	c, err := demo.New(ctx, db, drug.Default(), opts, logger)
	if err != nil {
		fmt.Fprintln(stderr, "thecal demo:", err)
		return 1
	}
	if exitAfter > 0 { // from when the clinic is ready
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, exitAfter)
		defer cancel()
	}
	srv := web.NewServer(c.Svc, logger)
	srv.Export = fhir.Bundle
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintln(stderr, "thecal demo: cannot listen:", err)
		return 1
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	c.Clock.Run(speed)
	pumps := make(chan struct{})
	pumpCtx, stopPumps := context.WithCancel(ctx) // the pumps stop with the server, whatever stops it
	defer stopPumps()
	go func() { defer close(pumps); c.Run(pumpCtx, 250*time.Millisecond, logger) }()

	// Browsers keep the session's Secure cookie over plain HTTP only for
	// "localhost": name the loopback address so.
	url := "http://" + ln.Addr().String() + "/"
	if a, ok := ln.Addr().(*net.TCPAddr); ok && a.IP.IsLoopback() {
		url = fmt.Sprintf("http://localhost:%d/", a.Port)
	}
	fmt.Fprintf(stdout, "Thecal demonstration clinic: %s\n", url)
	fmt.Fprintf(stdout, "database: %s (library %s)\n", path, c.Svc.Library().Version)
	fmt.Fprintf(stdout, "clock: starts %s, runs %g× real time; %d virtual pumps report every %s of simulated time\n",
		c.Start.Format(time.DateTime), speed, len(c.Pumps), demo.ReportEvery)
	fmt.Fprintln(stdout, "sign-ins (passwords shown once):")
	for _, l := range c.Logins {
		fmt.Fprintf(stdout, "  %-14s %-10s %s  (%s)\n", l.Role, l.Username, l.Password, l.Name)
	}
	fmt.Fprintln(stdout, "patients:")
	for _, p := range c.Patients {
		fmt.Fprintf(stdout, "  %s  %-18s %s\n", p.MRN, p.Name, p.Stage)
	}
	fmt.Fprintln(stdout, "Ctrl-C stops the demonstration.")
	code := 0
	if err := serveHTTP(ctx, hs, ln, "", "", 5*time.Second, func() {}); err != nil {
		fmt.Fprintln(stderr, "thecal demo: server stopped:", err)
		code = 1
	}
	stopPumps()
	<-pumps
	fmt.Fprintln(stdout, "stopped")
	return code
}
