package web

// The account page: a physician or administrator sets up two-factor sign-in
// (TOTP) here; the administrator's users page shows the security worklist.

import (
	"bytes"
	"context"
	"encoding/base64"
	"html/template"
	"image/png"
	"net/http"

	"github.com/pquerna/otp"

	"github.com/thecal/thecal/clinic"
)

func (s *Server) accountRoutes() []uiRoute {
	return []uiRoute{
		{"GET /account", "", s.pageAccount},
		{"POST /account/totp", "", s.postEnrolTOTP},
		{"POST /account/totp/confirm", "", s.postConfirmTOTP},
		{"POST /account/token", clinic.ProgramPumps, s.postAccountToken},
		{"POST /security/{id}/resolve", clinic.ManageUsers, s.postResolveSecurity},
	}
}

type accountData struct {
	TwoFactor, MayEnrol bool
	Enrolment           *clinic.TOTPEnrolment
	QR                  template.URL
	// Token is a programmer token just made (its secret, shown once).
	Token  *clinic.Token
	Secret string
}

func (s *Server) account(p *page, d *accountData) {
	p.Title, p.Nav, p.Data = "Your account", "account", d
	d.MayEnrol = false
	for _, r := range clinic.TwoFactorRoles {
		d.MayEnrol = d.MayEnrol || p.Who.Role == r
	}
}

func (s *Server) twoFactor(r *http.Request) bool {
	u, err := s.Svc.Me(r.Context())
	return err == nil && u.TwoFactor
}

func (s *Server) pageAccount(w http.ResponseWriter, r *http.Request, p *page) error {
	d := &accountData{TwoFactor: s.twoFactor(r)}
	if r.URL.Query().Get("two_factor") == "on" {
		p.Flash = "Two-factor sign-in is on: from now on, sign in with your password and the code your app shows."
	}
	if r.URL.Query().Get("token") == "shown" {
		p.Flash = "A programmer token was made by this form and its secret shown once: if you did not copy it, an administrator revokes it and you make another."
	}
	s.account(p, d)
	s.render(w, http.StatusOK, "account", p)
	return nil
}

func (s *Server) postEnrolTOTP(w http.ResponseWriter, r *http.Request, p *page) error {
	en, err := s.Svc.EnrolTOTP(r.Context())
	if err != nil {
		return err
	}
	d := &accountData{Enrolment: en}
	if key, err := otp.NewKeyFromURL(en.URL); err == nil {
		if img, err := key.Image(240, 240); err == nil {
			var b bytes.Buffer
			if png.Encode(&b, img) == nil {
				d.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes()))
			}
		}
	}
	s.account(p, d)
	s.render(w, http.StatusOK, "account", p)
	return nil
}

func (s *Server) postConfirmTOTP(w http.ResponseWriter, r *http.Request, p *page) error {
	if _, err := s.Svc.ConfirmTOTP(r.Context(), p.Form.Get("code")); err != nil {
		if !formErr(p, err) {
			return err
		}
		s.account(p, &accountData{})
		s.render(w, status(clinic.ErrorCode(err)), "account", p)
		return nil
	}
	http.Redirect(w, r, "/account?two_factor=on", http.StatusSeeOther)
	return nil
}

func (s *Server) postResolveSecurity(w http.ResponseWriter, r *http.Request, p *page) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.Svc.ResolveSecurityItem(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/users", http.StatusSeeOther)
	return nil
}

// postAccountToken makes the signed-in clinician's own programmer token
// (thecal program sync --clinic --token-file) and shows its secret, once: a
// repeat of the form is sent to the account page, which says so.
func (s *Server) postAccountToken(w http.ResponseWriter, r *http.Request, p *page) error {
	var t *clinic.Token
	var secret string
	d, err := s.oncePage(w, r, p, false, func(any) string { return "/account?token=shown" }, func(ctx context.Context) (err error) {
		t, secret, err = s.Svc.CreateOwnToken(ctx, p.Form.Get("token_name"))
		return err
	})
	if d {
		return err
	}
	data := &accountData{TwoFactor: s.twoFactor(r), Token: t, Secret: secret}
	if err != nil {
		if !formErr(p, err) {
			return err
		}
		s.account(p, data)
		s.render(w, http.StatusBadRequest, "account", p)
		return nil
	}
	s.account(p, data)
	s.render(w, http.StatusOK, "account", p)
	return nil
}
