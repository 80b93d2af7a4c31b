package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/thecal/thecal/implant"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// thecal keys: clinic authorities, credentials, pump enrolment, revocation.
// Wiring only: the formats, checks and file rules are package telemetry's.
// Nothing secret is ever printed: keys are named by their public key ids.

func keysCommand() *cobra.Command {
	return group("keys", "clinic authorities, credentials, pump enrolment and revocation",
		`Private keys are files with mode 0600; nothing secret is printed or logged.`, "subcommand",
		keysAuthority(), keysIssue(), keysEnrol(), keysRevoke(), keysShow())
}

func keysAuthority() *cobra.Command {
	c, f := devCommand("authority", "--out FILE [--public FILE]", "create a clinic authority: an Ed25519 signing key (private file, 0600, never overwritten) and its public trust file",
		"Creates a clinic authority. The private key file (--out) signs credentials:\nkeep it offline; it is never overwritten. The public file (--public, default\nFILE.pub) is the trust file programmers, PTMs and pumps are given.", noArgs)
	out := f.String("out", "", "the authority's private key file (created, 0600)")
	pub := f.String("public", "", "its public trust file (default: --out with .pub)")
	f.need("out")
	c.RunE = f.runs(func(stdout, stderr io.Writer) int {
		if *pub == "" {
			*pub = strings.TrimSuffix(*out, ".key") + ".pub"
		}
		a, err := telemetry.NewAuthority(nil)
		if err != nil {
			return f.fail("%v", err)
		}
		if err := telemetry.WriteAuthority(*out, a); err != nil {
			return f.fail("%v", err)
		}
		if err := telemetry.WriteTrust(*pub, telemetry.Trust{Authorities: []ed25519.PublicKey{a.Public}}); err != nil {
			return f.fail("%v", err)
		}
		fmt.Fprintf(stdout, "authority %s\n  private key  %s (0600: keep it offline)\n  trust file   %s (public: give it to programmers, PTMs and pumps)\n", a.ID, *out, *pub)
		return 0
	})
	return c
}

// validity reads --days and --from into a validity period.
func validity(days int, from *value[unit.Time]) (unit.Time, unit.Time, error) {
	nb := unit.FromStd(time.Now()).Add(-unit.Hour) // an hour of slack for clocks
	if from.set {
		nb = from.v
	}
	if days < 1 || days > 20*365 {
		return 0, 0, fmt.Errorf("--days %d is outside 1 to %d", days, 20*365)
	}
	return nb, nb.Add(unit.Duration(days) * unit.Day), nil
}

func keysIssue() *cobra.Command {
	c, f := devCommand("issue", "--authority FILE --role ROLE --serial N --name NAME --out FILE [--days 365]", "issue a credential to a clinician, patient (PTM), home monitor or emergency programmer",
		"Issues a credential: a new static key for the holder and a credential binding\nit to a role, serial and name, signed by the authority. The identity file\n(--out: key and credential, 0600, never overwritten) goes to the holder's device.\n\nRoles: clinician (everything), patient (a PTM: patient bolus, status),\nmonitor (status and event log), emergency (stop or minimum rate, status; only\nunder a contact wake).", noArgs)
	auth := f.String("authority", "", "the authority's private key file")
	role := f.String("role", "", "clinician, patient, monitor or emergency")
	serial := devQty[serialNumber](f, "serial", "the credential's serial number (unique per authority; revocation is by serial)")
	name := f.String("name", "", "the holder's name as it will appear in pump logs")
	days := f.Int("days", 365, "validity in days")
	from := flagOf[unit.Time](f.FlagSet, "from", "", "first instant of validity, RFC 3339 (default: now)")
	out := f.String("out", "", "the identity file to create")
	f.need("authority", "serial", "name", "out")
	c.RunE = f.runs(func(stdout, stderr io.Writer) int {
		r, ok := telemetry.ParseRole(*role)
		if !ok || r == telemetry.RolePump {
			return f.fail("--role %q: clinician, patient, monitor or emergency (a pump is enrolled with 'thecal keys enrol')", *role)
		}
		nb, na, err := validity(*days, from)
		if err != nil {
			return f.fail("%v", err)
		}
		a, err := telemetry.ReadAuthority(*auth)
		if err != nil {
			return f.fail("%v", err)
		}
		id, err := telemetry.NewIdentity(nil, a, r, uint64(serial.v), *name, nb, na)
		if err != nil {
			return f.fail("%v", err)
		}
		if err := telemetry.WriteIdentity(*out, id); err != nil {
			return f.fail("%v", err)
		}
		fmt.Fprintf(stdout, "identity %s (0600)\n", *out)
		writeLines(stdout, id.Credential.Lines())
		return 0
	})
	return c
}

// writeLines prints lines, each indented under a heading.
func writeLines(w io.Writer, lines []string) {
	for _, l := range lines {
		fmt.Fprintf(w, "  %s\n", l)
	}
}

func keysEnrol() *cobra.Command {
	c, f := devCommand("enrol", "--authority FILE --serial N --name NAME --out FILE [--also-trust PUB]...", "enrol a pump at implant: its key and credential, and the authorities it trusts",
		"Enrols a pump at implant: a new static key, a pump credential signed by the\nclinic authority, and the authorities the pump trusts — the clinic's, and every\n--also-trust file (for instance a regional emergency authority). The enrolment\nfile (0600, never overwritten) is what 'thecal pump init --enrolment' reads.", noArgs)
	auth := f.String("authority", "", "the implanting clinic's authority private key file")
	serial := devQty[serialNumber](f, "serial", "the pump's serial number")
	name := f.String("name", "", "the pump's name in credentials, e.g. \"TP-20 #4001\"")
	days := f.Int("days", 3650, "validity in days (the pump's service life)")
	from := flagOf[unit.Time](f.FlagSet, "from", "", "first instant of validity, RFC 3339 (default: now)")
	out := f.String("out", "", "the enrolment file to create")
	f.need("authority", "serial", "name", "out")
	also := listOf[string](f.FlagSet, "also-trust", "a further authority's trust `FILE` the pump accepts credentials from (repeat)")
	c.RunE = f.runs(func(stdout, stderr io.Writer) int {
		nb, na, err := validity(*days, from)
		if err != nil {
			return f.fail("%v", err)
		}
		a, err := telemetry.ReadAuthority(*auth)
		if err != nil {
			return f.fail("%v", err)
		}
		var extra []ed25519.PublicKey
		var revoked []uint64
		for _, p := range also.v {
			t, err := telemetry.ReadTrust(p)
			if err != nil {
				return f.fail("--also-trust %s: %v", p, err)
			}
			extra = append(extra, t.Authorities...)
			revoked = append(revoked, t.Revoked...)
		}
		e, err := telemetry.Enrol(nil, a, uint64(serial.v), *name, nb, na, extra...)
		if err != nil {
			return f.fail("%v", err)
		}
		for _, s := range revoked {
			e.Trust.Revoke(s)
		}
		if err := telemetry.WriteEnrolment(*out, e); err != nil {
			return f.fail("%v", err)
		}
		fmt.Fprintf(stdout, "enrolment %s (0600)\n", *out)
		writeLines(stdout, append(e.Identity.Credential.Lines(), e.Trust.Lines()...))
		return 0
	})
	return c
}

func keysRevoke() *cobra.Command {
	c, f := devCommand("revoke", "--serial N (--state DIR | --trust FILE)", "add a credential serial to a trust file's revocation list (a running pump applies it at once)",
		"Revokes a credential by serial: adds it to the revocation list of a pump (its\ntrust file in its state directory; a running pump applies it before the next\nhandshake) or of any trust file (a programmer's, to stop trusting a pump).", noArgs)
	serial := devQty[serialNumber](f, "serial", "the serial to revoke")
	state := f.String("state", "", "a pump's state directory")
	trustPath := f.String("trust", "", "a trust file")
	f.need("serial")
	c.RunE = f.runs(func(stdout, stderr io.Writer) int {
		if (*state == "") == (*trustPath == "") {
			return f.fail("give one of --state or --trust")
		}
		path := *trustPath
		if *state != "" {
			path = implant.TrustPath(*state)
		}
		t, err := telemetry.ReadTrust(path)
		if err != nil {
			return f.fail("%v", err)
		}
		if slices.Contains(t.Revoked, uint64(serial.v)) {
			fmt.Fprintf(stdout, "serial %d is already revoked in %s\n", serial.v, path)
			return 0
		}
		t.Revoke(uint64(serial.v))
		if err := telemetry.WriteTrust(path, t); err != nil {
			return f.fail("%v", err)
		}
		fmt.Fprintf(stdout, "serial %d revoked in %s\n", serial.v, path)
		if *state != "" {
			if msg, err := implant.Control(context.Background(), *state, "trust"); err == nil {
				fmt.Fprintf(stdout, "the running pump applied it: %s\n", msg)
			} else {
				fmt.Fprintf(stdout, "the pump did not answer (%v): it applies it when it starts\n", err)
			}
		}
		return 0
	})
	return c
}

func keysShow() *cobra.Command {
	c, f := devCommand("show", "FILE...", "print what a key, credential, identity, enrolment or trust file holds (public parts only)",
		"Prints what each file holds: public parts only.", cobra.ArbitraryArgs)
	c.RunE = f.runs(func(stdout, stderr io.Writer) int {
		if f.NArg() == 0 {
			return f.fail("give at least one file")
		}
		status := 0
		for _, p := range f.Args() {
			fmt.Fprintf(stdout, "%s:\n", p)
			lines, err := telemetry.ShowFile(p)
			if err != nil {
				fmt.Fprintf(stderr, "  %v\n", err)
				status = 1
			}
			writeLines(stdout, lines)
		}
		return status
	})
	return c
}
