package clinic

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// Role is what a user or an API token may do.
type Role string

const (
	Physician     Role = "physician"
	Nurse         Role = "nurse"
	Administrator Role = "administrator"
	ReadOnly      Role = "read-only"
	// Monitor is the role of an API token held by a home monitor or a clinic
	// programmer: it may post interrogation reports and nothing else.
	Monitor Role = "monitor"
)

// Roles are the roles a user may have (Monitor is for tokens only).
var Roles = []Role{Physician, Nurse, Administrator, ReadOnly}

// Action is something a role may be allowed to do.
type Action string

const (
	ReadRecords   Action = "read_records"   // patients, their records, the worklist
	WritePatients Action = "write_patients" // create and edit patients
	WriteCare     Action = "write_care"     // refills, follow-ups, side effects, complications
	Prescribe     Action = "prescribe"      // prescriptions
	WriteImplants Action = "write_implants" // implants and explants
	WriteTrials   Action = "write_trials"   // screening trials and their decision
	AckAlarms     Action = "ack_alarms"     // acknowledge alarms
	IngestReports Action = "ingest_reports" // post pump interrogation reports
	ExportRecords Action = "export_records" // FHIR export of a patient's record
	ManageUsers   Action = "manage_users"   // users and API tokens
	ReadAudit     Action = "read_audit"     // the audit trail and its verification
	ReadLibrary   Action = "read_library"   // the drug library in force and its published versions
	// PublishLibrary publishes a new drug-library version: the clinical
	// limits every later prescription is checked against, a clinical
	// governance act (physicians only; docs/clinic.md).
	PublishLibrary Action = "publish_library"
	// ProgramPumps runs a programming session with a pump and records it
	// (the programmer with --clinic, the web programming station).
	ProgramPumps Action = "program_pumps"
)

// permissions is the whole authorisation matrix. What is not listed is denied.
var permissions = map[Role][]Action{
	Physician: {ReadRecords, WritePatients, WriteCare, Prescribe, WriteImplants, WriteTrials,
		AckAlarms, IngestReports, ExportRecords, ReadLibrary, PublishLibrary, ProgramPumps},
	Nurse:         {ReadRecords, WritePatients, WriteCare, AckAlarms, IngestReports, ExportRecords, ReadLibrary, ProgramPumps},
	Administrator: {ManageUsers, ReadAudit, ReadLibrary},
	ReadOnly:      {ReadRecords, ReadLibrary},
	Monitor:       {IngestReports},
}

// Can reports whether role r may do a: deny by default.
func (r Role) Can(a Action) bool {
	for _, x := range permissions[r] {
		if x == a {
			return true
		}
	}
	return false
}

// ValidUserRole reports whether r is a role a user may have.
func ValidUserRole(r Role) bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// User is a person who signs in.
type User struct {
	ID           int64  `json:"id"`
	Username     string `json:"username"`
	Name         string `json:"name"`
	Role         Role   `json:"role"`
	Disabled     bool   `json:"disabled"`
	PasswordHash string `json:"-"`
	// TwoFactor is set when the user signs in with a TOTP code too
	// (TOTPSecret, RFC 6238). TOTPPending is a secret being enrolled, not yet
	// confirmed by a code; TOTPStep the last time step a code was accepted
	// for, so that a code is used once.
	TwoFactor   bool      `json:"two_factor"`
	TOTPSecret  string    `json:"-"`
	TOTPPending string    `json:"-"`
	TOTPStep    int64     `json:"-"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Principal is who is acting: a signed-in user, or an API token.
type Principal struct {
	UserID  int64
	TokenID int64
	Name    string // username, or "token:NAME"
	Role    Role
	// Serial, for a token, is the one pump it may report for ("" for any).
	Serial string
}

// Session is a signed-in browser session. Only the SHA-256 of its token is stored.
type Session struct {
	TokenHash string
	UserID    int64
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Token is an API token for a home monitor or a programmer. Only the SHA-256 of
// the secret is stored; the secret is shown once, when it is made.
type Token struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Role      Role       `json:"role"`
	Serial    string     `json:"serial,omitempty"`
	Hash      string     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy int64      `json:"created_by"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// PasswordParams are the argon2id cost parameters.
type PasswordParams struct {
	Time    uint32
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultPasswordParams is RFC 9106's second recommended argon2id option
// (t=3, 64 MiB), with 4 lanes.
var DefaultPasswordParams = PasswordParams{Time: 3, Memory: 64 * 1024, Threads: 4}

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 12

// HashPassword returns an argon2id hash of password in the PHC string format.
func HashPassword(password string, p PasswordParams) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches an argon2id hash made by HashPassword.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false
	}
	var p PasswordParams
	var threads uint
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); err != nil || threads == 0 || threads > 255 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, uint8(threads), uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when a username does not exist, so that a
// sign-in takes as long for an unknown user as for a wrong password.
var (
	dummyHash string
	dummyOnce sync.Once
)

// NewSecret returns a random secret with a prefix: 32 bytes, base64url.
func NewSecret(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("clinic: no randomness: " + err.Error())
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret is what the store keeps of a session or token secret.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}
