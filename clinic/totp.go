package clinic

import (
	"context"
	"crypto/subtle"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// The optional second factor: a time-based one-time code (RFC 6238: 6
// digits, 30 s steps, HMAC-SHA-1, as every authenticator app reads an
// otpauth:// URL) for the roles that may prescribe or manage accounts.

// totpOpts are the code's parameters; a code of the step before or after is
// accepted too (clock drift between the phone and the server).
var totpOpts = totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TwoFactorRoles are the roles that may enrol a second factor.
var TwoFactorRoles = []Role{Physician, Administrator}

func mayEnrol(r Role) bool {
	for _, x := range TwoFactorRoles {
		if x == r {
			return true
		}
	}
	return false
}

// checkTOTP checks a code against secret at now and returns its time step. A
// step not after last (the step of the last code accepted) is refused, so a
// code is used once.
func checkTOTP(secret, code string, now time.Time, last int64) (int64, bool) {
	if len(code) != 6 || secret == "" {
		return 0, false
	}
	step := now.Unix() / int64(totpOpts.Period)
	var found int64
	for d := -int64(totpOpts.Skew); d <= int64(totpOpts.Skew); d++ {
		s := step + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*int64(totpOpts.Period), 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > last {
			found = s
		}
	}
	return found, found != 0
}

// TOTPEnrolment is a second factor being set up: the secret to type into an
// authenticator app, or the otpauth:// URL (shown as a QR code) to scan.
type TOTPEnrolment struct {
	Secret string `json:"secret"`
	URL    string `json:"url"`
}

// EnrolTOTP starts enrolling a second factor for the signed-in user (a
// physician or an administrator): a new secret, pending until ConfirmTOTP
// checks a code made from it. Starting again replaces a pending secret.
func (s *Service) EnrolTOTP(ctx context.Context) (*TOTPEnrolment, error) {
	p := FromContext(ctx)
	if p == nil || p.UserID == 0 {
		return nil, Errorf(EUNAUTHORIZED, "", "sign in first")
	}
	if !mayEnrol(p.Role) {
		return nil, Errorf(EFORBIDDEN, "", "a second factor is for physicians and administrators")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Thecal", AccountName: p.Name, Period: totpOpts.Period,
		Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm})
	if err != nil {
		return nil, err
	}
	err = s.Store.Update(ctx, func(tx Tx) error { return tx.SetTOTPPending(p.UserID, key.Secret()) })
	if err != nil {
		return nil, err
	}
	return &TOTPEnrolment{Secret: key.Secret(), URL: key.URL()}, nil
}

// ConfirmTOTP turns the pending second factor on when code is right for it.
// From then on the user signs in with a code too; the change is audited.
func (s *Service) ConfirmTOTP(ctx context.Context, code string) (*User, error) {
	p := FromContext(ctx)
	if p == nil || p.UserID == 0 {
		return nil, Errorf(EUNAUTHORIZED, "", "sign in first")
	}
	if !mayEnrol(p.Role) {
		return nil, Errorf(EFORBIDDEN, "", "a second factor is for physicians and administrators")
	}
	var u *User
	err := s.Store.Update(ctx, func(tx Tx) error {
		now := s.now()
		var err error
		if u, err = tx.User(p.UserID); err != nil {
			return err
		}
		if u.TOTPPending == "" {
			return Errorf(EINVALID, "code", "start the set-up first (POST /api/v1/me/totp)")
		}
		step, ok := checkTOTP(u.TOTPPending, code, now, 0)
		if !ok {
			return Errorf(EINVALID, "code", "the code does not match: check the phone's clock and type the code shown now")
		}
		before := *u
		u.TwoFactor, u.TOTPSecret, u.TOTPPending, u.TOTPStep, u.UpdatedAt = true, u.TOTPPending, "", step, now
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		if err := tx.SetTOTPStep(u.ID, step); err != nil {
			return err
		}
		o := &op{s: s, tx: tx, now: now, p: p}
		o.auditUser("user.two_factor", &before, u)
		return o.appendAudit()
	})
	return u, err
}
