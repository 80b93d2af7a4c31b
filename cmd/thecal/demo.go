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
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/thecal/thecal/demo"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/fhir"
	"github.com/thecal/thecal/implant"
	"github.com/thecal/thecal/store/sqlite"
	"github.com/thecal/thecal/web"
)

func demoCommand() *cobra.Command {
	c := command("demo [--dir DIR] [--listen ADDR] [--db PATH] [--speed N] [--patients N [--years N]] [--exit-after D]",
		"a demonstration clinic with virtual pumps, in the browser",
		`Starts the clinic server with its web interface on a fresh SQLite file, seeds a
demonstration clinic (six patients at different stages, with physician, nurse
and administrator sign-ins printed once), and runs the real system around it
on a clock --speed times faster than real time: each implanted patient's pump
a virtual implant on the telemetry protocol over loopback, filled and
programmed through telemetry, and a home monitor per pump posting to the
clinic through its HTTP API with its own token. The web interface's
programming station reaches every pump.

With --dir DIR the files stay in DIR (created; it must not hold a
demonstration already): the database, each pump's state directory (for
'thecal pump wake --state'), the monitors' queues, the clinic authority's keys,
a clinician identity and the nurse's programmer token, and DIR/demo.json
saying how to reach them (README, "Point thecal program at a demo pump").
Without it they go in a temporary directory removed at exit.

--patients N adds N generated patients with up to --years of history each (a
clinic at scale; the same every time; records only: their pumps do not run).
Ctrl-C stops it.`, noArgs)
	fs := c.Flags()
	dir := fs.String("dir", "", "keep the demonstration's files in DIR, with DIR/demo.json (default: a temporary directory, removed at exit)")
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on")
	dbPath := fs.String("db", "", "SQLite file to create (default: demo.db in the demonstration's directory)")
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
		return demoRun(*dir, *listen, *dbPath, *speed, *exitAfter, *verbose, demoGenerate(*patients, *years, stdout), stdout, stderr)
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

func demoRun(dir, listen, dbPath string, speed float64, exitAfter time.Duration, verbose bool, opts demo.Options, stdout, stderr io.Writer) int {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if speed <= 0 || speed > implant.MaxSpeed {
		fmt.Fprintf(stderr, "thecal demo: --speed %v is outside (0, %d]\n", speed, implant.MaxSpeed)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if dir == "" {
		tmp, err := os.MkdirTemp("", "thecal-demo-")
		if err != nil {
			fmt.Fprintln(stderr, "thecal demo:", err)
			return 1
		}
		defer func() {
			if err := os.RemoveAll(tmp); err != nil {
				fmt.Fprintln(stderr, "thecal demo: the temporary directory is left behind:", err)
			}
		}()
		dir = tmp
	} else if _, err := os.Stat(filepath.Join(dir, "demo.json")); err == nil {
		fmt.Fprintf(stderr, "thecal demo: %s holds a demonstration already: give a new directory\n", dir)
		return 1
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		fmt.Fprintln(stderr, "thecal demo:", err)
		return 1
	}
	path := dbPath
	if path == "" {
		path = filepath.Join(dir, "demo.db")
	}
	if _, err := os.Stat(path); err == nil {
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
	opts.Dir = dir
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
	// Browsers keep the session's Secure cookie over plain HTTP only for
	// "localhost": name the loopback address so.
	url := "http://" + ln.Addr().String() + "/"
	if a, ok := ln.Addr().(*net.TCPAddr); ok && a.IP.IsLoopback() {
		url = fmt.Sprintf("http://localhost:%d/", a.Port)
	}
	// The server stops after the pumps and monitors, whatever stops the
	// demonstration, so that no monitor holds a request open while the
	// server shuts down.
	serveCtx, stopServing := context.WithCancel(context.Background())
	defer stopServing()
	served := make(chan error, 1)
	go func() { served <- serveHTTP(serveCtx, hs, ln, "", "", 5*time.Second, func() {}) }()
	c.Clock.Run(speed)
	if err := c.Start(ctx, strings.TrimSuffix(url, "/")); err != nil {
		fmt.Fprintln(stderr, "thecal demo:", err)
		c.Close()
		stopServing()
		<-served
		return 1
	}
	defer c.Close()
	srv.SetStation(c.Station())
	if err := c.WriteInfo(strings.TrimSuffix(url, "/")); err != nil {
		fmt.Fprintln(stderr, "thecal demo: writing demo.json:", err)
		c.Close()
		stopServing()
		<-served
		return 1
	}
	fmt.Fprintf(stdout, "Thecal demonstration clinic: %s\n", url)
	fmt.Fprintf(stdout, "database: %s (library %s)\n", path, c.Svc.Library().Version)
	fmt.Fprintf(stdout, "files: %s (demo.json says how to reach the pumps with thecal program)\n", dir)
	fmt.Fprintf(stdout, "clock: starts %s, runs %g× real time; %d virtual pumps on loopback, each read by its home monitor every %s of simulated time\n",
		c.Begin.Format(time.DateTime), speed, len(c.Pumps), demo.ReportEvery)
	fmt.Fprintln(stdout, "sign-ins (passwords shown once):")
	for _, l := range c.Logins {
		fmt.Fprintf(stdout, "  %-14s %-10s %s  (%s)\n", l.Role, l.Username, l.Password, l.Name)
	}
	fmt.Fprintln(stdout, "patients:")
	for _, p := range c.Info("").Patients {
		pumpAt := ""
		if p.Address != "" {
			pumpAt = "pump " + p.Serial + " at " + p.Address
		}
		fmt.Fprintf(stdout, "  %s  %-18s %-26s %s\n", p.MRN, p.Name, p.Stage, pumpAt)
	}
	fmt.Fprintln(stdout, "Ctrl-C stops the demonstration.")
	code := 0
	select {
	case err := <-served: // the server failed
		fmt.Fprintln(stderr, "thecal demo: server stopped:", err)
		code = 1
		c.Close()
	case <-ctx.Done():
		c.Close()
		stopServing()
		if err := <-served; err != nil {
			fmt.Fprintln(stderr, "thecal demo: server stopped:", err)
			code = 1
		}
	}
	fmt.Fprintln(stdout, "stopped")
	return code
}
