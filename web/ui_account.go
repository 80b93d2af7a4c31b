package web

// The account page: a physician or administrator sets up two-factor sign-in
// (TOTP) here; the administrator's users page shows the security worklist.

import (
	"bytes"
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
		{"POST /security/{id}/resolve", clinic.ManageUsers, s.postResolveSecurity},
	}
}

type accountData struct {
	TwoFactor, MayEnrol bool
	Enrolment           *clinic.TOTPEnrolment
	QR                  template.URL
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
