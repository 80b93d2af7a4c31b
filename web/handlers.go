package web

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"time"

	"github.com/thecal/thecal/clinic"
)

func (s *Server) table() []route {
	return []route{
		{pattern: "GET /healthz", public: true, h: s.healthz},
		{pattern: "POST /api/v1/session", public: true, h: s.login},
		{pattern: "DELETE /api/v1/session", anyRole: true, h: s.logout},
		{pattern: "GET /api/v1/me", anyRole: true, h: s.me},
		{pattern: "POST /api/v1/me/totp", anyRole: true, h: s.enrolTOTP},
		{pattern: "POST /api/v1/me/totp/confirm", anyRole: true, h: s.confirmTOTP},
		{pattern: "GET /api/v1/security/items", action: clinic.ManageUsers, h: s.securityItems},
		{pattern: "POST /api/v1/security/items/{id}/resolve", action: clinic.ManageUsers, h: s.resolveSecurityItem},

		{pattern: "GET /api/v1/users", action: clinic.ManageUsers, h: s.listUsers},
		{pattern: "POST /api/v1/users", action: clinic.ManageUsers, idem: true, secret: true, h: s.createUser},
		{pattern: "PATCH /api/v1/users/{id}", action: clinic.ManageUsers, h: s.updateUser},
		{pattern: "GET /api/v1/tokens", action: clinic.ManageUsers, h: s.listTokens},
		{pattern: "POST /api/v1/tokens", action: clinic.ManageUsers, idem: true, h: s.createToken},
		{pattern: "DELETE /api/v1/tokens/{id}", action: clinic.ManageUsers, h: s.revokeToken},

		{pattern: "GET /api/v1/patients", action: clinic.ReadRecords, h: listOf(patientFilter, s.Svc.PatientList)},
		{pattern: "POST /api/v1/patients", action: clinic.WritePatients, idem: true, h: s.createPatient},
		{pattern: "GET /api/v1/patients/{id}", action: clinic.ReadRecords, h: readOf(s.Svc.Patient)},
		{pattern: "PUT /api/v1/patients/{id}", action: clinic.WritePatients, h: s.updatePatient},
		{pattern: "GET /api/v1/patients/{id}/record", action: clinic.ReadRecords, h: readOf(s.Svc.PatientRecord)},
		{pattern: "GET /api/v1/patients/{id}/fhir", action: clinic.ExportRecords, h: s.fhirExport},

		{pattern: "POST /api/v1/patients/{id}/trials", action: clinic.WriteTrials, idem: true, h: createFor(s, s.Svc.CreateTrial)},
		{pattern: "PUT /api/v1/trials/{id}", action: clinic.WriteTrials, h: updateOf(s, s.Svc.UpdateTrial)},
		{pattern: "POST /api/v1/patients/{id}/implants", action: clinic.WriteImplants, idem: true, h: createFor(s, s.Svc.CreateImplant)},
		{pattern: "POST /api/v1/implants/{id}/explant", action: clinic.WriteImplants, h: updateOf(s, s.Svc.Explant)},
		{pattern: "POST /api/v1/patients/{id}/prescriptions", action: clinic.Prescribe, idem: true, h: createFor(s, s.Svc.Prescribe)},
		{pattern: "POST /api/v1/patients/{id}/prescriptions/review", action: clinic.Prescribe, h: updateOf(s, s.Svc.ReviewPrescription)},
		{pattern: "POST /api/v1/patients/{id}/refills", action: clinic.WriteCare, idem: true, h: createFor(s, s.Svc.RecordRefill)},
		{pattern: "POST /api/v1/refills/{id}/review", action: clinic.WriteCare, h: updateOf(s, s.Svc.ReviewRefill)},
		{pattern: "POST /api/v1/patients/{id}/follow-ups", action: clinic.WriteCare, idem: true, h: createFor(s, s.Svc.ScheduleFollowUp)},
		{pattern: "POST /api/v1/follow-ups/{id}/done", action: clinic.WriteCare, h: updateOf(s, s.Svc.CompleteFollowUp)},
		{pattern: "POST /api/v1/patients/{id}/complications", action: clinic.WriteCare, idem: true, h: createFor(s, s.Svc.RecordComplication)},
		{pattern: "PUT /api/v1/complications/{id}", action: clinic.WriteCare, h: updateOf(s, s.Svc.UpdateComplication)},
		{pattern: "POST /api/v1/patients/{id}/side-effects", action: clinic.WriteCare, idem: true, h: createFor(s, s.Svc.RecordSideEffect)},
		{pattern: "GET /api/v1/records/{id}", action: clinic.ReadRecords, h: readOf(s.Svc.Record)},
		{pattern: "POST /api/v1/alarms/{id}/ack", action: clinic.AckAlarms, idem: true, h: updateOf(s, s.Svc.AckAlarm)},

		{pattern: "GET /api/v1/worklist", action: clinic.ReadRecords, h: listOf(workQuery, s.Svc.WorklistPage)},
		{pattern: "POST /api/v1/reports", action: clinic.IngestReports, idem: true, h: s.ingest},

		// The closed loop (docs/loop.md): the programmer fetches the order for
		// a pump, checks a refill, and uploads its session.
		{pattern: "GET /api/v1/pumps/{serial}/order", action: clinic.ReadRecords, h: s.pumpOrder},
		{pattern: "POST /api/v1/patients/{id}/refills/check", action: clinic.WriteCare, h: s.checkRefill},
		{pattern: "POST /api/v1/programming-sessions", action: clinic.ProgramPumps, idem: true, h: s.recordSession},
		{pattern: "POST /api/v1/reports/{id}/adopt", action: clinic.Prescribe, idem: true, h: updateOf(s, s.Svc.AdoptProgram)},
		{pattern: "POST /api/v1/me/tokens", action: clinic.ProgramPumps, idem: true, h: s.createOwnToken},
		{pattern: "GET /api/v1/audit", action: clinic.ReadAudit, h: listOf(auditFilter, s.Svc.AuditLog)},
		{pattern: "GET /api/v1/audit/verify", action: clinic.ReadAudit, h: s.verifyAudit},

		{pattern: "POST /api/v1/library", action: clinic.PublishLibrary, form: true, idem: true, h: s.publishLibrary},
		{pattern: "GET /api/v1/library/versions", action: clinic.ReadLibrary, h: s.libraryVersions},
	}
}

// createFor decodes a new record for the patient in the path and creates it.
func createFor[T any](s *Server, fn func(ctx context.Context, patientID int64, v *T) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		v := new(T)
		if err := decode(w, r, v, s.MaxBody); err != nil {
			return err
		}
		answerWith(r, http.StatusCreated, v)
		if err := fn(r.Context(), id, v); err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, v)
		return nil
	}
}

// readOf answers with the record named by the path's id.
func readOf[T any](fn func(ctx context.Context, id int64) (T, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		v, err := fn(r.Context(), id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, v)
		return nil
	}
}

// updateOf decodes a change to the record in the path and applies it.
func updateOf[In, Out any](s *Server, fn func(ctx context.Context, id int64, in In) (Out, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var in In
		if err := decodeInto(w, r, &in, s.MaxBody); err != nil {
			return err
		}
		answerWith(r, http.StatusOK, nil) // the record the service declares (an idempotent route's)
		out, err := fn(r.Context(), id, in)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

// decodeInto decodes into *In, allocating when In is itself a pointer.
func decodeInto[In any](w http.ResponseWriter, r *http.Request, in *In, limit int64) error {
	var target any = in
	if t := reflect.TypeFor[In](); t.Kind() == reflect.Pointer {
		v := reflect.New(t.Elem())
		reflect.ValueOf(in).Elem().Set(v)
		target = v.Interface()
	}
	return decode(w, r, target, limit)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	if err := s.Svc.Store.Ping(r.Context()); err != nil {
		s.Logger.Warn("health check failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// TOTP is the one-time code, for an account with a second factor.
	TOTP string `json:"totp,omitempty"`
}

type loginResponse struct {
	User      *clinic.User `json:"user"`
	CSRFToken string       `json:"csrf_token"`
	ExpiresAt time.Time    `json:"expires_at"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var in loginRequest
	if err := decode(w, r, &in, 64<<10); err != nil {
		return err
	}
	if in.Username == "" {
		return clinic.Errorf(clinic.EINVALID, "username", "is required")
	}
	if in.Password == "" {
		return clinic.Errorf(clinic.EINVALID, "password", "is required")
	}
	u, secret, sess, err := s.Svc.Login(r.Context(), clinic.Credentials{Username: in.Username, Password: in.Password,
		TOTP: in.TOTP, Addr: clientAddr(r)})
	if err != nil {
		return err
	}
	setSessionCookies(w, secret, sess)
	writeJSON(w, http.StatusOK, loginResponse{User: u, CSRFToken: sess.CSRF, ExpiresAt: sess.ExpiresAt})
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := s.Svc.Logout(r.Context(), c.Value); err != nil {
			return err
		}
	}
	clearSessionCookies(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	p := clinic.FromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"name": p.Name, "role": p.Role, "user_id": p.UserID, "token_id": p.TokenID})
	return nil
}

func (s *Server) enrolTOTP(w http.ResponseWriter, r *http.Request) error {
	en, err := s.Svc.EnrolTOTP(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, en)
	return nil
}

func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := decode(w, r, &in, 4<<10); err != nil {
		return err
	}
	u, err := s.Svc.ConfirmTOTP(r.Context(), in.Code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) securityItems(w http.ResponseWriter, r *http.Request) error {
	items, err := s.Svc.SecurityItems(r.Context(), r.URL.Query().Get("open") == "true")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

func (s *Server) resolveSecurityItem(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	it, err := s.Svc.ResolveSecurityItem(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, it)
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	us, err := s.Svc.Users(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": us})
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var in clinic.UserInput
	if err := decode(w, r, &in, s.MaxBody); err != nil {
		return err
	}
	answerWith(r, http.StatusCreated, nil)
	u, err := s.Svc.CreateUser(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in clinic.UserInput
	if err := decode(w, r, &in, s.MaxBody); err != nil {
		return err
	}
	if in.Username != "" {
		return clinic.Errorf(clinic.EINVALID, "username", "a username cannot change")
	}
	u, err := s.Svc.UpdateUser(r.Context(), id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.Svc.Tokens(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": ts})
	return nil
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var in clinic.TokenInput
	if err := decode(w, r, &in, s.MaxBody); err != nil {
		return err
	}
	tokenMadeOnce(r)
	t, secret, err := s.Svc.CreateToken(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": t, "secret": secret})
	return nil
}

// tokenMadeOnce: a token's secret is shown once and never stored, so a
// repeat under the key is told which token was made, to revoke it and make
// another.
func tokenMadeOnce(r *http.Request) {
	answerFunc(r, func(result any) (int, any) {
		t, _ := result.(*clinic.Token)
		var b ErrorBody
		b.Error.Code, b.Error.Field = clinic.ECONFLICT, IdempotencyHeader
		if t != nil {
			b.Error.Message = fmt.Sprintf("token %d was created under this key; its secret is shown only once: revoke it (DELETE /api/v1/tokens/%d) and create another", t.ID, t.ID)
		}
		return http.StatusConflict, b
	})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Svc.RevokeToken(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) createPatient(w http.ResponseWriter, r *http.Request) error {
	var p clinic.Patient
	if err := decode(w, r, &p, s.MaxBody); err != nil {
		return err
	}
	answerWith(r, http.StatusCreated, &p)
	if err := s.Svc.CreatePatient(r.Context(), &p); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, &p)
	return nil
}

func (s *Server) updatePatient(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var p clinic.Patient
	if err := decode(w, r, &p, s.MaxBody); err != nil {
		return err
	}
	if p.ID != 0 && p.ID != id {
		return clinic.Errorf(clinic.EINVALID, "id", "does not match the path")
	}
	p.ID = id
	if err := s.Svc.UpdatePatient(r.Context(), &p); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, &p)
	return nil
}

func (s *Server) fhirExport(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	rec, err := s.Svc.ExportRecord(r.Context(), id)
	if err != nil {
		return err
	}
	if s.Export == nil {
		return clinic.Errorf(clinic.EUNAVAILABLE, "", "FHIR export is not configured")
	}
	b, err := s.Export(rec, s.Svc.Now())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/fhir+json")
	_, err = w.Write(b)
	return err
}

func (s *Server) ingest(w http.ResponseWriter, r *http.Request) error {
	var rep clinic.Report
	if err := decode(w, r, &rep, s.MaxReport); err != nil {
		s.ingested.WithLabelValues("refused").Inc()
		return err
	}
	answerFunc(r, func(result any) (int, any) {
		if res, ok := result.(*clinic.IngestResult); ok && res.Duplicate {
			return http.StatusOK, res
		}
		return http.StatusCreated, result
	})
	res, err := s.Svc.Ingest(r.Context(), &rep)
	if err != nil {
		s.ingested.WithLabelValues("refused").Inc()
		return err
	}
	code := http.StatusCreated
	if res.Duplicate {
		code = http.StatusOK
		s.ingested.WithLabelValues("duplicate").Inc()
	} else {
		s.ingested.WithLabelValues("stored").Inc()
	}
	writeJSON(w, code, res)
	return nil
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.Svc.VerifyAudit(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) pumpOrder(w http.ResponseWriter, r *http.Request) error {
	o, err := s.Svc.PumpOrder(r.Context(), r.PathValue("serial"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

func (s *Server) checkRefill(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var rf clinic.Refill
	if err := decode(w, r, &rf, s.MaxBody); err != nil {
		return err
	}
	out, err := s.Svc.CheckRefill(r.Context(), id, &rf)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) recordSession(w http.ResponseWriter, r *http.Request) error {
	var up clinic.SessionUpload
	if err := decode(w, r, &up, s.MaxReport); err != nil {
		return err
	}
	answerFunc(r, func(result any) (int, any) {
		if res, ok := result.(*clinic.SessionResult); ok && res.Duplicate {
			return http.StatusOK, res
		}
		return http.StatusCreated, result
	})
	res, err := s.Svc.RecordSession(r.Context(), &up)
	if err != nil {
		return err
	}
	code := http.StatusCreated
	if res.Duplicate {
		code = http.StatusOK
	}
	writeJSON(w, code, res)
	return nil
}

type ownTokenRequest struct {
	Name string `json:"name"`
}

func (s *Server) createOwnToken(w http.ResponseWriter, r *http.Request) error {
	var in ownTokenRequest
	if err := decode(w, r, &in, s.MaxBody); err != nil {
		return err
	}
	tokenMadeOnce(r)
	t, secret, err := s.Svc.CreateOwnToken(r.Context(), in.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": t, "secret": secret})
	return nil
}
