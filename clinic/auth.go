package clinic

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/trustelem/zxcvbn"
)

// Credentials are one sign-in attempt.
type Credentials struct {
	Username string
	Password string
	// TOTP is the one-time code of an account with a second factor.
	TOTP string
	// Addr is the source address of the attempt (for the throttle); "" when
	// there is none (a command-line tool).
	Addr string
}

// Password hashing is bounded: each Argon2id hash takes PasswordParams.Memory
// (64 MiB by default), so at most MaxHashes run at once and the rest wait
// their turn, up to HashWait (issue 14, finding 4: 64 parallel wrong sign-ins
// took the server from 160 MB to 4.8 GB).
const (
	DefaultMaxHashes = 4
	DefaultHashWait  = 20 * time.Second
)

type hashSlots struct {
	once     sync.Once
	sem      chan struct{}
	running  atomic.Int64
	peak     atomic.Int64
	refused  atomic.Int64
	finished atomic.Int64
}

// HashStats reports the password hashes running now, the most that ever ran
// at once, and how many sign-ins were refused as busy.
func (s *Service) HashStats() (running, peak, refused int64) {
	return s.hashes.running.Load(), s.hashes.peak.Load(), s.hashes.refused.Load()
}

// withHashSlot runs fn, one of at most MaxHashes at once.
func (s *Service) withHashSlot(ctx context.Context, fn func()) error {
	h := &s.hashes
	h.once.Do(func() {
		n := s.MaxHashes
		if n <= 0 {
			n = DefaultMaxHashes
		}
		h.sem = make(chan struct{}, n)
	})
	wait := s.HashWait
	if wait <= 0 {
		wait = DefaultHashWait
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		h.refused.Add(1)
		return Errorf(EUNAVAILABLE, "", "the server is busy with other sign-ins: try again in a moment")
	}
	n := h.running.Add(1)
	for p := h.peak.Load(); n > p && !h.peak.CompareAndSwap(p, n); p = h.peak.Load() {
	}
	defer func() {
		h.running.Add(-1)
		h.finished.Add(1)
		<-h.sem
	}()
	fn()
	return nil
}

func (s *Service) hashPassword(ctx context.Context, pw string) (hash string, err error) {
	if e := s.withHashSlot(ctx, func() { hash, err = HashPassword(pw, s.PasswordParams) }); e != nil {
		return "", e
	}
	return hash, err
}

func (s *Service) checkPasswordHash(ctx context.Context, hash, pw string) (ok bool, err error) {
	err = s.withHashSlot(ctx, func() { ok = CheckPassword(hash, pw) })
	return ok, err
}

func (s *Service) throttleKeys(c Credentials) []throttleKey {
	keys := []throttleKey{{name: accountKey(c.Username), policy: s.AccountThrottle, account: c.Username}}
	if a := addressKey(c.Addr); a != "" {
		keys = append(keys, throttleKey{name: a, policy: s.AddressThrottle})
	}
	return keys
}

// errSignIn is the answer to every failed sign-in, whatever failed: the
// username, the password or the account's state are not told apart.
func errSignIn() error { return Errorf(EUNAUTHORIZED, "password", "wrong username or password") }

// Login checks a sign-in and opens a session. It returns the session secret
// (for the cookie) once; only its hash is stored. Attempts are throttled per
// account and per source address (ETHROTTLED, with RetryAfter), at most
// MaxHashes password hashes run at once, and every failure is audited.
func (s *Service) Login(ctx context.Context, c Credentials) (*User, string, *Session, error) {
	now := s.now()
	keys := s.throttleKeys(c)
	wait, ok := s.throttle.admit(now, keys)
	if !ok {
		// A lock this server holds that an administrator lifted through
		// another server (resolving its item) is lifted here too.
		if held := s.throttle.locked(now, keys); len(held) > 0 {
			var until time.Time
			if err := s.Store.View(ctx, func(tx Tx) (err error) { until, err = sharedLock(tx, now, held); return err }); err != nil {
				return nil, "", nil, err
			}
			if !until.After(now) {
				for _, k := range held {
					s.throttle.unlock(k.name)
				}
				wait, ok = s.throttle.admit(now, keys)
			}
		}
	}
	if !ok {
		return nil, "", nil, &Error{Code: ETHROTTLED, Field: "password", RetryAfter: wait,
			Message: "too many failed sign-ins: wait " + wait.String() + " before trying again"}
	}
	// Every admitted attempt is ended once: as a failure below, or else (a
	// success, a store error, a busy server, a missing code) as no failure.
	ended := false
	defer func() {
		if !ended {
			s.throttle.done(s.now(), keys, false)
		}
	}()
	var u *User
	var lockedUntil time.Time
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		if lockedUntil, err = sharedLock(tx, now, keys); err != nil {
			return err
		}
		u, err = tx.UserByUsername(c.Username)
		return err
	})
	if wait := lockedUntil.Sub(now); wait > 0 && ErrorCode(err) != EINTERNAL {
		return nil, "", nil, &Error{Code: ETHROTTLED, Field: "password", RetryAfter: wait,
			Message: "too many failed sign-ins: wait " + wait.String() + " before trying again"}
	}
	reason := ""
	switch {
	case ErrorCode(err) == ENOTFOUND:
		u = nil
		if _, err := s.checkPasswordHash(ctx, s.dummy(), c.Password); err != nil { // the same work as a wrong password
			return nil, "", nil, err
		}
		reason = "unknown username"
	case err != nil:
		return nil, "", nil, err
	default:
		ok, err := s.checkPasswordHash(ctx, u.PasswordHash, c.Password)
		if err != nil {
			return nil, "", nil, err
		}
		switch {
		case !ok:
			reason = "wrong password"
		case u.Disabled:
			reason = "account disabled"
		case u.TwoFactor && c.TOTP == "":
			// The password was right: ask for the code (not a failure).
			return nil, "", nil, Errorf(EUNAUTHORIZED, "totp", "enter the 6-digit code from your authenticator app")
		}
	}
	var step int64
	if reason == "" && u.TwoFactor {
		var ok bool
		if step, ok = checkTOTP(u.TOTPSecret, c.TOTP, now, u.TOTPStep); !ok {
			reason = "wrong or reused one-time code"
		}
	}
	if reason != "" {
		ended = true
		locked := s.throttle.done(s.now(), keys, true)
		if err := s.auditFailedSignIn(ctx, now, c, u, reason, locked); err != nil {
			return nil, "", nil, err
		}
		if reason == "wrong or reused one-time code" {
			return nil, "", nil, Errorf(EUNAUTHORIZED, "totp", "wrong or already used one-time code")
		}
		return nil, "", nil, errSignIn()
	}
	secret := NewSecret("")
	sess := &Session{TokenHash: HashSecret(secret), UserID: u.ID, CSRF: NewSecret(""),
		CreatedAt: now, ExpiresAt: now.Add(s.Settings.SessionTTL)}
	err = s.Store.Update(ctx, func(tx Tx) error {
		if err := tx.DeleteExpiredSessions(now); err != nil {
			return err
		}
		if err := tx.CreateSession(sess); err != nil {
			return err
		}
		if step != 0 {
			if err := tx.SetTOTPStep(u.ID, step); err != nil {
				return err
			}
		}
		o := &op{s: s, tx: tx, now: now, p: &Principal{UserID: u.ID, Name: u.Username, Role: u.Role}}
		o.audit("session.create", "user", u.ID, 0, nil, map[string]any{"username": u.Username, "address": c.Addr,
			"two_factor": u.TwoFactor})
		return o.appendAudit()
	})
	if err != nil {
		return nil, "", nil, err
	}
	return u, secret, sess, nil
}

// sharedLock returns until when a lock on the security worklist — raised by
// any server on the database — holds one of the sign-in's keys (zero: none).
// Back-off counts are each server's own; a lock is every server's.
func sharedLock(tx Tx, now time.Time, keys []throttleKey) (time.Time, error) {
	items, err := tx.SecurityItems(true)
	if err != nil {
		return time.Time{}, err
	}
	var until time.Time
	for _, it := range items {
		if !it.Until.After(now) || it.Until.Before(until) {
			continue
		}
		for _, k := range keys {
			if it.Kind == AccountLocked && k.account != "" && accountKey(it.Subject) == k.name ||
				it.Kind == AddressLocked && k.account == "" && "address:"+it.Subject == k.name {
				until = it.Until
			}
		}
	}
	return until, nil
}

// auditFailedSignIn records a failed sign-in and any lock it caused, with a
// security worklist item for each lock.
func (s *Service) auditFailedSignIn(ctx context.Context, now time.Time, c Credentials, u *User, reason string, locked []throttleKey) error {
	name := c.Username
	if len(name) > 64 {
		name = name[:64]
	}
	name = strings.ToValidUTF8(name, "?")
	var uid int64
	if u != nil {
		uid = u.ID
	}
	return s.Store.Update(ctx, func(tx Tx) error {
		o := &op{s: s, tx: tx, now: now, p: &Principal{Name: "anonymous", Role: "anonymous"}}
		o.audit("session.fail", "user", uid, 0, nil, map[string]any{"username": name, "address": c.Addr, "reason": reason})
		for _, k := range locked {
			it := &SecurityItem{RaisedAt: now, Until: now.Add(k.policy.Lock)}
			if k.account != "" {
				it.Kind, it.Subject, it.UserID = AccountLocked, name, uid
				it.Reason = itoa(int64(k.policy.LockAfter)) + " or more failed sign-ins to \"" + name + "\"; locked until " + it.Until.Format(time.RFC3339)
			} else {
				it.Kind, it.Subject = AddressLocked, strings.TrimPrefix(k.name, "address:")
				it.Reason = itoa(int64(k.policy.LockAfter)) + " or more failed sign-ins from " + it.Subject + "; locked until " + it.Until.Format(time.RFC3339)
			}
			if err := tx.CreateSecurityItem(it); err != nil {
				return err
			}
			o.audit("signin.lock", "security_item", it.ID, 0, nil, it)
		}
		return o.appendAudit()
	})
}

func (s *Service) dummy() string {
	dummyOnce.Do(func() { dummyHash, _ = HashPassword("not a password", s.PasswordParams) })
	return dummyHash
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, secret string) error {
	return s.Store.Update(ctx, func(tx Tx) error { return tx.DeleteSession(HashSecret(secret)) })
}

// Authenticate returns the principal and session of a session secret.
func (s *Service) Authenticate(ctx context.Context, secret string) (*Principal, *Session, error) {
	now := s.now()
	var p *Principal
	var sess *Session
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		sess, err = tx.Session(HashSecret(secret))
		if err != nil {
			return err
		}
		if !now.Before(sess.ExpiresAt) {
			return Errorf(EUNAUTHORIZED, "", "the session has expired: sign in again")
		}
		u, err := tx.User(sess.UserID)
		if err != nil {
			return err
		}
		if u.Disabled {
			return Errorf(EUNAUTHORIZED, "", "the account is disabled")
		}
		p = &Principal{UserID: u.ID, Name: u.Username, Role: u.Role}
		return nil
	})
	if ErrorCode(err) == ENOTFOUND {
		err = Errorf(EUNAUTHORIZED, "", "not signed in")
	}
	return p, sess, err
}

// AuthenticateToken returns the principal of an API token secret.
func (s *Service) AuthenticateToken(ctx context.Context, secret string) (*Principal, error) {
	var p *Principal
	err := s.Store.View(ctx, func(tx Tx) error {
		t, err := tx.TokenByHash(HashSecret(secret))
		if err != nil {
			return err
		}
		if t.RevokedAt != nil {
			return Errorf(EUNAUTHORIZED, "", "the token was revoked")
		}
		if t.Role == Monitor {
			p = &Principal{TokenID: t.ID, Name: "token:" + t.Name, Role: t.Role, Serial: t.Serial}
			return nil
		}
		// A clinician's own token (CreateOwnToken) acts as its owner, while
		// the owner keeps the role it was made with.
		u, err := tx.User(t.CreatedBy)
		if err != nil {
			return err
		}
		switch {
		case u.Disabled:
			return Errorf(EUNAUTHORIZED, "", "the token's user is disabled")
		case u.Role != t.Role:
			return Errorf(EUNAUTHORIZED, "", "the token's user is no longer a %s: make a new token", t.Role)
		}
		p = &Principal{UserID: u.ID, TokenID: t.ID, Name: u.Username, Role: u.Role}
		return nil
	})
	if ErrorCode(err) == ENOTFOUND {
		err = Errorf(EUNAUTHORIZED, "", "unknown API token")
	}
	return p, err
}

// UserInput is a new user, or a change to one (nil fields are left alone).
type UserInput struct {
	Username string  `json:"username"`
	Name     *string `json:"name"`
	Role     *Role   `json:"role"`
	Disabled *bool   `json:"disabled"`
	Password *string `json:"password"`
	// TwoFactor may only be set false: an administrator removes the second
	// factor of a user who lost it. Enrolment is the user's own
	// (EnrolTOTP, ConfirmTOTP).
	TwoFactor *bool `json:"two_factor"`
	Version   int64 `json:"version"`
}

func validUsername(u string) bool {
	if len(u) < 2 || len(u) > 64 {
		return false
	}
	for _, r := range u {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-@", r)) {
			return false
		}
	}
	return true
}

// MinPasswordScore is the least zxcvbn strength score (0–4) a password must
// reach: 3 is "safely unguessable: moderate protection from an offline
// slow-hash scenario" (about 10^8 guesses or more).
const MinPasswordScore = 3

// CheckNewPassword is the password rule: at least MinPasswordLength
// characters, at most 1024 bytes, valid UTF-8 without control characters, not
// the username or the name or built on them, and not guessable (a zxcvbn
// score of MinPasswordScore or more: common passwords, keyboard walks,
// repeats and dates score low).
func CheckNewPassword(pw, username, name string) error {
	if len([]rune(pw)) < MinPasswordLength {
		return Errorf(EINVALID, "password", "must be at least %d characters", MinPasswordLength)
	}
	if len(pw) > 1024 {
		return Errorf(EINVALID, "password", "must be at most 1024 bytes")
	}
	if err := checkText("password", pw, false); err != nil {
		return err
	}
	if strings.TrimSpace(pw) == "" {
		return Errorf(EINVALID, "password", "must not be only spaces")
	}
	low := strings.ToLower(pw)
	for _, u := range []string{username, name} {
		if u = strings.ToLower(strings.TrimSpace(u)); len(u) >= 3 && strings.Contains(low, u) {
			return Errorf(EINVALID, "password", "must not contain the username or the name")
		}
	}
	inputs := []string{username, name, "thecal", "clinic", "pump"}
	if r := zxcvbn.PasswordStrength(pw, inputs); r.Score < MinPasswordScore {
		return Errorf(EINVALID, "password", "is too easy to guess (strength %d of 4, at least %d needed): use a longer phrase of unrelated words", r.Score, MinPasswordScore)
	}
	return nil
}

// CreateUser adds a user.
func (s *Service) CreateUser(ctx context.Context, in UserInput) (*User, error) {
	if !validUsername(in.Username) {
		return nil, Errorf(EINVALID, "username", "2 to 64 letters, digits or . _ - @")
	}
	if in.Role == nil || !ValidUserRole(*in.Role) {
		return nil, Errorf(EINVALID, "role", "must be one of physician, nurse, administrator, read-only")
	}
	if in.Name == nil {
		return nil, Errorf(EINVALID, "name", "is required")
	}
	if err := nameField("name", *in.Name, 200, true); err != nil {
		return nil, err
	}
	if in.Password == nil {
		return nil, Errorf(EINVALID, "password", "is required")
	}
	if in.TwoFactor != nil {
		return nil, Errorf(EINVALID, "two_factor", "a user enrols a second factor themself, after signing in")
	}
	if err := CheckNewPassword(*in.Password, in.Username, *in.Name); err != nil {
		return nil, err
	}
	if err := s.allow(ctx, ManageUsers); err != nil {
		return nil, err
	}
	hash, err := s.hashPassword(ctx, *in.Password)
	if err != nil {
		return nil, err
	}
	u := &User{Username: in.Username, Name: strings.TrimSpace(*in.Name), Role: *in.Role, PasswordHash: hash}
	err = s.write(ctx, ManageUsers, func(o *op) error {
		u.CreatedAt, u.UpdatedAt = o.now, o.now
		if err := o.tx.CreateUser(u); err != nil {
			return err
		}
		o.result(u)
		o.auditUser("user.create", nil, u)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// UpdateUser changes a user's name, role, password, disabled flag or removes
// their second factor. Nobody changes their own role. A new password, a
// disable, a role change or a removed second factor ends the user's sessions
// and revokes the API tokens they made, in the same transaction; enabling a
// user again revives none of them.
func (s *Service) UpdateUser(ctx context.Context, id int64, in UserInput) (*User, error) {
	if in.Role != nil && !ValidUserRole(*in.Role) {
		return nil, Errorf(EINVALID, "role", "must be one of physician, nurse, administrator, read-only")
	}
	if in.Name != nil {
		if err := nameField("name", *in.Name, 200, true); err != nil {
			return nil, err
		}
	}
	if in.TwoFactor != nil && *in.TwoFactor {
		return nil, Errorf(EINVALID, "two_factor", "may only be set false (a user enrols a second factor themself)")
	}
	if in.Version <= 0 {
		return nil, Errorf(EINVALID, "version", "give the version you read (for the lost-update check)")
	}
	if err := s.allow(ctx, ManageUsers); err != nil {
		return nil, err
	}
	if p := FromContext(ctx); p != nil && p.UserID == id && in.Role != nil {
		return nil, Errorf(EFORBIDDEN, "role", "nobody changes their own role: another administrator must")
	}
	var hash string
	if in.Password != nil {
		// The rule needs the username and name: read them first (the change
		// itself is version-checked below).
		var cur *User
		if err := s.Store.View(ctx, func(tx Tx) (err error) { cur, err = tx.User(id); return err }); err != nil {
			return nil, err
		}
		name := cur.Name
		if in.Name != nil {
			name = *in.Name
		}
		if err := CheckNewPassword(*in.Password, cur.Username, name); err != nil {
			return nil, err
		}
		var err error
		if hash, err = s.hashPassword(ctx, *in.Password); err != nil {
			return nil, err
		}
	}
	var u *User
	err := s.write(ctx, ManageUsers, func(o *op) error {
		var err error
		if u, err = o.tx.User(id); err != nil {
			return err
		}
		before := *u
		if u.Version != in.Version {
			return Errorf(ECONFLICT, "version", "user %d is at version %d, not %d: someone changed it; reload", id, u.Version, in.Version)
		}
		if in.Name != nil {
			u.Name = strings.TrimSpace(*in.Name)
		}
		if in.Role != nil {
			u.Role = *in.Role
		}
		if in.Disabled != nil {
			u.Disabled = *in.Disabled
		}
		if hash != "" {
			u.PasswordHash = hash
		}
		if in.TwoFactor != nil && u.TwoFactor {
			u.TwoFactor, u.TOTPSecret, u.TOTPPending, u.TOTPStep = false, "", "", 0
		}
		u.UpdatedAt = o.now
		if err := o.tx.UpdateUser(u); err != nil {
			return err
		}
		o.auditUser("user.update", &before, u)
		credentialsChanged := hash != "" || u.Role != before.Role || (u.Disabled && !before.Disabled) || before.TwoFactor != u.TwoFactor
		if credentialsChanged {
			return o.endAccess(u)
		}
		return nil
	})
	return u, err
}

// endAccess ends every session of u and revokes every API token u made.
func (o *op) endAccess(u *User) error {
	n, err := o.tx.DeleteUserSessions(u.ID)
	if err != nil {
		return err
	}
	revoked, err := o.tx.RevokeTokensBy(u.ID, o.now)
	if err != nil {
		return err
	}
	o.audit("user.end_access", "user", u.ID, 0, nil, map[string]any{"sessions_ended": n, "tokens_revoked": revoked})
	return nil
}

// Users lists the users.
func (s *Service) Users(ctx context.Context) ([]*User, error) {
	var out []*User
	err := s.view(ctx, ManageUsers, func(tx Tx) (err error) {
		out, err = tx.Users()
		return err
	})
	return out, err
}

// Bootstrap creates the first administrator when there is no user at all, with
// a generated password that it returns once. It refuses when users exist.
func (s *Service) Bootstrap(ctx context.Context, username string) (string, error) {
	if !validUsername(username) {
		return "", Errorf(EINVALID, "username", "2 to 64 letters, digits or . _ - @")
	}
	password := NewSecret("")[:24]
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return "", err
	}
	err = s.write(NewContext(ctx, System), ManageUsers, func(o *op) error {
		n, err := o.tx.CountUsers()
		if err != nil {
			return err
		}
		if n > 0 {
			return Errorf(ECONFLICT, "username", "users exist already: an administrator adds more with the API")
		}
		u := &User{Username: username, Name: "Administrator", Role: Administrator, PasswordHash: hash,
			CreatedAt: o.now, UpdatedAt: o.now}
		if err := o.tx.CreateUser(u); err != nil {
			return err
		}
		o.result(u)
		o.auditUser("user.create", nil, u)
		return nil
	})
	return password, err
}

// TokenInput is a new API token.
type TokenInput struct {
	Name   string `json:"name"`
	Role   Role   `json:"role"`
	Serial string `json:"serial"`
}

// CreateToken makes an API token for a home monitor and returns its secret
// once. A monitor token is bound to one pump serial: it may report for that
// pump only (issue 14, finding 6).
func (s *Service) CreateToken(ctx context.Context, in TokenInput) (*Token, string, error) {
	if err := nameField("name", in.Name, 100, true); err != nil {
		return nil, "", err
	}
	if in.Role == "" {
		in.Role = Monitor
	}
	if in.Role != Monitor {
		return nil, "", Errorf(EINVALID, "role", "API tokens have the monitor role")
	}
	in.Serial = strings.TrimSpace(in.Serial)
	if in.Serial == "" || len(in.Serial) > 64 {
		return nil, "", Errorf(EINVALID, "serial", "a monitor token reports for one pump: give its serial (at most 64 bytes)")
	}
	if err := checkText("serial", in.Serial, false); err != nil {
		return nil, "", err
	}
	secret := NewSecret("thecal_")
	t := &Token{Name: in.Name, Role: in.Role, Serial: in.Serial, Hash: HashSecret(secret)}
	err := s.write(ctx, ManageUsers, func(o *op) error {
		t.CreatedAt, t.CreatedBy = o.now, o.p.UserID
		if err := o.tx.CreateToken(t); err != nil {
			return err
		}
		o.result(t)
		o.audit("token.create", "token", t.ID, 0, nil, t)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return t, secret, nil
}

// CreateOwnToken makes an API token for the signed-in clinician's own
// programmer (thecal program sync --clinic) and returns its secret once. The
// token acts as its owner, with the owner's role (physician or nurse): it is
// refused once the owner is disabled or has another role, and revoked with
// the owner's sessions (a password reset, a disable, a role change).
func (s *Service) CreateOwnToken(ctx context.Context, name string) (*Token, string, error) {
	p := FromContext(ctx)
	switch {
	case p == nil || p.UserID == 0:
		return nil, "", Errorf(EUNAUTHORIZED, "", "sign in first")
	case p.TokenID != 0:
		return nil, "", Errorf(EFORBIDDEN, "", "a token cannot make another: sign in with the password")
	case p.Role != Physician && p.Role != Nurse:
		return nil, "", Errorf(EFORBIDDEN, "", "programmer tokens are for physicians and nurses")
	}
	if err := nameField("name", name, 100, true); err != nil {
		return nil, "", err
	}
	secret := NewSecret("thecal_")
	t := &Token{Name: name, Role: p.Role, Hash: HashSecret(secret)}
	err := s.write(ctx, ProgramPumps, func(o *op) error {
		t.CreatedAt, t.CreatedBy = o.now, o.p.UserID
		if err := o.tx.CreateToken(t); err != nil {
			return err
		}
		o.audit("token.create", "token", t.ID, 0, nil, t)
		o.result(t)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return t, secret, nil
}

// Tokens lists the API tokens (never their secrets).
func (s *Service) Tokens(ctx context.Context) ([]*Token, error) {
	var out []*Token
	err := s.view(ctx, ManageUsers, func(tx Tx) (err error) {
		out, err = tx.Tokens()
		return err
	})
	return out, err
}

// RevokeToken revokes an API token for good.
func (s *Service) RevokeToken(ctx context.Context, id int64) error {
	return s.write(ctx, ManageUsers, func(o *op) error {
		t, err := o.tx.Token(id)
		if err != nil {
			return err
		}
		before := *t
		if err := o.tx.RevokeToken(id, o.now); err != nil {
			return err
		}
		at := o.now
		t.RevokedAt = &at
		o.audit("token.revoke", "token", id, 0, &before, t)
		return nil
	})
}

// Me returns the signed-in user's own account.
func (s *Service) Me(ctx context.Context) (*User, error) {
	p := FromContext(ctx)
	if p == nil || p.UserID == 0 {
		return nil, Errorf(EUNAUTHORIZED, "", "sign in first")
	}
	var u *User
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		u, err = tx.User(p.UserID)
		return err
	})
	return u, err
}
