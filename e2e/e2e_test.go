// Package e2e runs the thecal binary as real processes: a virtual implant
// (thecal pump run) on a loopback port, programmed by thecal program and asked
// for boluses by thecal ptm, killed with SIGKILL and restarted. It also applies
// the walkthrough of docs/adding-a-command.md to a copy of the tree and runs
// the go tool on it (walkthrough_test.go). It holds tests only; TestMain builds
// the binary once.
package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var bin string // the thecal binary under test

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "thecal-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "thecal")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if p, err := exec.LookPath("go"); err == nil {
		gobin = p
	}
	out, err := exec.Command(gobin, "build", "-o", bin, "github.com/thecal/thecal/cmd/thecal").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// world is a working directory with the keys of a clinic, a regional
// emergency authority and a rogue one, and a pump enrolled at the clinic.
type world struct {
	t   *testing.T
	dir string
	env []string
}

func newWorld(t *testing.T) *world {
	w := &world{t: t, dir: t.TempDir()}
	w.env = append(os.Environ(), "THECAL_ID=ruiz.id", "THECAL_TRUST=clinic.pub", "THECAL_WAKE=", "THECAL_PUMP=", "THECAL_SERIAL=")
	w.ok("keys", "authority", "--out", "clinic.key")
	w.ok("keys", "authority", "--out", "er.key")
	w.ok("keys", "authority", "--out", "rogue.key")
	w.ok("keys", "issue", "--authority", "clinic.key", "--role", "clinician", "--serial", "101", "--name", "Dr. A. Ruiz", "--out", "ruiz.id")
	w.ok("keys", "issue", "--authority", "clinic.key", "--role", "patient", "--serial", "201", "--name", "PTM of J. Doe", "--out", "ptm.id")
	w.ok("keys", "issue", "--authority", "er.key", "--role", "emergency", "--serial", "401", "--name", "ER, St. Elsewhere", "--out", "er.id")
	w.ok("keys", "issue", "--authority", "rogue.key", "--role", "clinician", "--serial", "101", "--name", "Dr. A. Ruiz", "--out", "forged.id")
	w.ok("keys", "enrol", "--authority", "clinic.key", "--serial", "4001", "--name", "TP-20 #4001", "--also-trust", "er.pub", "--out", "pump.enrol")
	w.ok("pump", "init", "--state", "pump", "--enrolment", "pump.enrol", "--catheter", "50cm", "--utc-offset", "+01:00")
	for _, f := range []string{"clinic.key", "ruiz.id", "ptm.id", "pump.enrol", "pump/identity.pem"} {
		if fi, err := os.Stat(filepath.Join(w.dir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, err, fi.Mode())
		}
	}
	return w
}

// run runs thecal with args in the world's directory.
func (w *world) run(args ...string) (stdout, stderr string, status int) {
	w.t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = w.dir, w.env
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		status = ee.ExitCode()
	} else if err != nil {
		w.t.Fatal(err)
	}
	return o.String(), e.String(), status
}

func (w *world) ok(args ...string) string {
	w.t.Helper()
	out, errOut, st := w.run(args...)
	if st != 0 {
		w.t.Fatalf("thecal %s: exit %d\n%s%s", strings.Join(args, " "), st, out, errOut)
	}
	return out
}

// expect runs thecal and checks its exit status and that its output holds
// every string of want.
func (w *world) expect(status int, want []string, args ...string) string {
	w.t.Helper()
	out, errOut, st := w.run(args...)
	all := out + errOut
	if st != status {
		w.t.Errorf("thecal %s: exit %d, want %d\n%s", strings.Join(args, " "), st, status, all)
	}
	for _, s := range want {
		if !strings.Contains(all, s) {
			w.t.Errorf("thecal %s: output lacks %q:\n%s", strings.Join(args, " "), s, all)
		}
	}
	return all
}

// pumpProc is a running 'thecal pump run'.
type pumpProc struct {
	cmd  *exec.Cmd
	addr string
	mu   sync.Mutex
	log  strings.Builder // its stderr: the event-log records
	done chan struct{}
}

var answering = regexp.MustCompile(`answering on (\S+),`)

// start runs the pump on a free loopback port and waits until it answers.
func (w *world) start(extra ...string) *pumpProc {
	w.t.Helper()
	cmd := exec.Command(bin, append([]string{"pump", "run", "--state", "pump", "--listen", "127.0.0.1:0"}, extra...)...)
	cmd.Dir, cmd.Env = w.dir, w.env
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	p := &pumpProc{cmd: cmd, done: make(chan struct{})}
	w.t.Cleanup(func() { p.kill() })
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := stderr.Read(b)
			p.mu.Lock()
			p.log.Write(b[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
		close(lines)
	}()
	go func() { cmd.Wait(); close(p.done) }()
	timeout := time.After(20 * time.Second)
	for p.addr == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				w.t.Fatalf("pump exited before answering:\n%s", p.stderr())
			}
			if m := answering.FindStringSubmatch(l); m != nil {
				p.addr = m[1]
			}
		case <-timeout:
			w.t.Fatal("pump did not start")
		}
	}
	w.setPump(p.addr)
	return p
}

func (w *world) setPump(addr string) {
	for i, e := range w.env {
		if strings.HasPrefix(e, "THECAL_PUMP=") {
			w.env[i] = "THECAL_PUMP=" + addr
		}
	}
}

func (p *pumpProc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// kill sends SIGKILL: no chance to save anything.
func (p *pumpProc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// waitLog waits until the pump has printed a record containing s.
func (p *pumpProc) waitLog(t *testing.T, s string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(p.stderr(), s) {
			return
		}
	}
	t.Errorf("the pump's log has no %q:\n%s", s, p.stderr())
}

// The whole life of a virtual implant across processes: refusals explained,
// programming, patient boluses, interrogation, an emergency stop, a
// revocation, kill -9 and a restart that keeps the prescription.
func TestProcesses(t *testing.T) {
	w := newWorld(t)
	p := w.start()
	wake := func(extra ...string) {
		w.t.Helper()
		w.ok(append([]string{"pump", "wake", "--state", "pump"}, extra...)...)
	}

	// The radio is asleep until a wake.
	w.expect(1, []string{"radio is asleep", "listens only for 60 s after a wake"}, "program", "status")
	// An emergency credential under a radio (not contact) wake.
	wake()
	w.expect(1, []string{"emergency access needs a contact wake"}, "program", "stop", "--id", "er.id", "--leave-stopped")
	p.waitLog(t, "AUTH_FAILED  radio wake: telemetry: forbidden for this role: emergency access needs a contact wake")
	// A credential from an authority the pump does not trust.
	wake()
	w.expect(1, []string{"does not trust the authority"}, "program", "status", "--id", "forged.id")
	p.waitLog(t, "untrusted authority")

	// First fill and the prescription: the library's soft findings need a reason.
	wake()
	w.expect(0, []string{"first fill", "20 mL = 200 mg of morphine 10 mg/mL", "Refill recorded"},
		"program", "refill", "--withdrawn", "0mL", "--added", "20mL", "--drug", "morphine", "--concentration", "10mg/mL",
		"--confirm-drug", "morphine", "--confirm-concentration", "10mg/mL", "--yes")
	set := []string{"program", "set", "--dose", "5mg/day", "--bolus", "0.025mL", "--bolus-duration", "10m", "--lockout", "2h", "--max-per-day", "4", "--yes"}
	w.expect(1, []string{"needs a reason", "give --reason", "nothing was sent"}, set...)
	w.expect(1, []string{"the pump would refuse this prescription", "rate"}, "program", "set", "--rate", "30mL/day", "--yes", "--reason", "x")
	w.expect(0, []string{"current", "new", "0.5 mL = 5 mg", "0.6 mL = 6 mg", "Programmed: the pump stored"}, append(set, "--reason", "opioid-tolerant")...)
	p.waitLog(t, "PROGRAM  continuous, max_24h 0.6 mL")

	// The safety rules on the programmer's path (issue 11): a refill's drug
	// and concentration are typed and confirmed, never taken from the
	// program; another drug without a physician's order is refused; a large
	// change needs --confirm-large-change, which --yes does not give.
	wake()
	refill := []string{"program", "refill", "--withdrawn", "19.9mL", "--added", "20mL", "--yes"}
	w.expect(2, []string{"--concentration: required"}, append(refill, "--drug", "morphine")...)
	w.expect(2, []string{"--confirm-drug: required: type the drug and the concentration a second time"}, append(refill, "--drug", "morphine", "--concentration", "10mg/mL")...)
	w.expect(1, []string{"refused: no physician's order for baclofen 2000 mcg/mL: the pump runs morphine 10 mg/mL", "nothing was sent"},
		append(refill, "--drug", "baclofen", "--concentration", "2000mcg/mL", "--confirm-drug", "baclofen", "--confirm-concentration", "2000mcg/mL")...)
	w.expect(1, []string{"daily dose 5 mg/day → 20 mg/day (+300%) is more than 50%", "--confirm-large-change", "nothing was sent"},
		"program", "set", "--dose", "20mg/day", "--max-24h", "3mL", "--reason", "pain 8/10, escalation agreed", "--yes")
	p.waitLog(t, "PROGRAM  continuous, max_24h 0.6 mL")

	// The patient: one bolus, then the lockout, said plainly.
	wake()
	w.expect(0, []string{"Bolus given: 0.025 mL (0.25 mg of morphine), over 10 minutes. Your next bolus is possible at"}, "ptm", "bolus", "--id", "ptm.id")
	w.expect(1, []string{"No bolus given: a bolus is still running"}, "ptm", "bolus", "--id", "ptm.id")
	w.expect(0, []string{"Your pump is delivering your medicine.", "Medicine left: about 20 mL"}, "ptm", "status", "--id", "ptm.id")
	// The patient's credential may not program.
	w.expect(1, []string{"role may not do that", "patient may not program"}, "program", "set", "--rate", "0.6mL/day", "--yes", "--reason", "x", "--id", "ptm.id")
	p.waitLog(t, "COMMAND_REFUSED  program by patient #201: telemetry: forbidden for this role")

	// Interrogation with the log.
	w.expect(0, []string{"DELIVERING", "morphine 10 mg/mL, continuous 0.5 mL/day", "PATIENT_BOLUS_START", "PATIENT_BOLUS_REFUSED", "bolus_active"},
		"program", "status", "--log", "40")

	// Stopping needs --leave-stopped; an emergency programmer in contact may.
	w.expect(2, []string{"--leave-stopped"}, "program", "stop")
	wake("--contact")
	w.expect(0, []string{"Stopped", "Left STOPPED on purpose"}, "program", "stop", "--id", "er.id", "--leave-stopped")
	p.waitLog(t, `SESSION_START  emergency #401 "ER, St. Elsewhere", contact wake`)
	// A session that ends with the pump stopped, without --leave-stopped: loud, status 3.
	out := w.expect(3, []string{"NOT DELIVERING: STOPPED by a clinician", "WARNING: the session ended with the pump STOPPED"}, "program", "status", "--log", "10")
	if !strings.Contains(out, "!#") || !strings.Contains(out, "STOP") {
		t.Errorf("the emergency session is not marked critical in the log:\n%s", out)
	}
	w.expect(0, []string{"Resumed: delivering 0.5 mL = 5 mg a day"}, "program", "resume")

	// A malformed frame straight to the port: refused with a typed alert, logged.
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	wake()
	c.Write([]byte{2, 1, 0, 32})
	reply := make([]byte, 6)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _ := io.ReadFull(c, reply); n != 6 || reply[1] != 0x7f {
		t.Errorf("alert %x", reply[:n])
	}
	c.Close()
	p.waitLog(t, "wake: telemetry: unknown frame version")

	// Revocation reaches the running pump.
	w.expect(0, []string{"serial 201 revoked", "the running pump applied it"}, "keys", "revoke", "--state", "pump", "--serial", "201")
	wake()
	w.expect(1, []string{"No bolus given: this credential has been revoked"}, "ptm", "bolus", "--id", "ptm.id")

	// kill -9, restart: the prescription survives, the reset is logged.
	p.kill()
	p = w.start()
	p.waitLog(t, "RESET  assumed delivered")
	wake()
	w.expect(0, []string{"DELIVERING", "morphine 10 mg/mL, continuous 0.5 mL/day", "0.025 mL = 0.25 mg over 10m", "RESET", "SESSION_START"},
		"program", "status", "--log", "10")
	// And the revocation too.
	w.expect(1, []string{"revoked"}, "ptm", "bolus", "--id", "ptm.id")
}
