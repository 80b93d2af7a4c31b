package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/thecal/thecal/clinic"
)

// Nothing is recorded twice (issue 11 item 7; clinic/idempotency.go keeps the
// answers). Every create of the API takes an Idempotency-Key header: the same
// key with the same request answers the first answer (status and body), the
// same key with another request is 409. Every page form that writes carries a
// key of its own (form_key, a hidden field made when the form is shown), so a
// reload of its answer or a resent POST sends the browser where the first
// went and records nothing new.

// IdempotencyHeader is the API's idempotency key header
// (draft-ietf-httpapi-idempotency-key-header).
const IdempotencyHeader = clinic.IdempotencyField

// ReplayedHeader marks an answer repeated from the store.
const ReplayedHeader = "Idempotent-Replayed"

// formKeyField is a page form's key.
const formKeyField = "form_key"

// validKey: 1 to 255 visible ASCII characters (a UUID, a random token).
func validKey(k string) bool {
	if len(k) == 0 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// newFormKey makes a page form's key.
func newFormKey() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic("web: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// secretFingerprint is the cost of a fingerprint of a request that carries a
// password (a new user): argon2id at OWASP's least (19 MiB, one pass), so the
// stored fingerprint is no fast hash of the password.
var secretFingerprint = clinic.PasswordParams{Time: 2, Memory: 19 * 1024, Threads: 1}

// fingerprint identifies a request: a SHA-256 over its method, path and
// content, hex; for a request carrying a secret, an argon2id hash of that.
func fingerprint(digest []byte, secret bool) (string, error) {
	h := hex.EncodeToString(digest)
	if !secret {
		return h, nil
	}
	return clinic.HashPassword(h, secretFingerprint)
}

// sameRequest reports whether a stored fingerprint is the request's.
func sameRequest(stored string, digest []byte) bool {
	h := hex.EncodeToString(digest)
	if strings.HasPrefix(stored, "$argon2id$") {
		return clinic.CheckPassword(stored, h)
	}
	return stored == h
}

// digest hashes a request's method, path and content, each length-prefixed.
func digest(method, path string, content [][]byte) []byte {
	h := sha256.New()
	for _, part := range append([][]byte{[]byte(method), []byte(path)}, content...) {
		_, _ = h.Write([]byte(strconv.Itoa(len(part)) + ":"))
		_, _ = h.Write(part)
	}
	return h.Sum(nil)
}

// bodyContent is what identifies a body: its bytes, or for a multipart form
// its parts (name, file name and content) in order of name, so that a resent
// form with another boundary is the same request.
func bodyContent(contentType string, body []byte) ([][]byte, error) {
	mt, params, _ := mime.ParseMediaType(contentType)
	if mt != "multipart/form-data" {
		return [][]byte{body}, nil
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var parts [][]byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, clinic.Errorf(clinic.EINVALID, "", "the form could not be read")
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, clinic.Errorf(clinic.EINVALID, "", "the form could not be read")
		}
		sum := sha256.Sum256(b)
		parts = append(parts, []byte(p.FormName()+"\x00"+p.FileName()+"\x00"+hex.EncodeToString(sum[:])))
	}
	slices.SortFunc(parts, bytes.Compare)
	return parts, nil
}

// formContent is what identifies a page form: its fields in order of name
// (the CSRF token and the form's key aside) and its files.
func formContent(r *http.Request, f url.Values) [][]byte {
	var parts [][]byte
	for name, vs := range f {
		if name == "csrf_token" || name == formKeyField {
			continue
		}
		parts = append(parts, []byte(name+"\x00"+strings.Join(vs, "\x00")))
	}
	if r.MultipartForm != nil {
		for name, fhs := range r.MultipartForm.File {
			for _, fh := range fhs {
				h := sha256.New()
				if fl, err := fh.Open(); err == nil {
					_, _ = io.Copy(h, fl)
					fl.Close()
				}
				parts = append(parts, []byte(name+"\x00"+fh.Filename+"\x00"+hex.EncodeToString(h.Sum(nil))))
			}
		}
	}
	slices.SortFunc(parts, bytes.Compare)
	return parts
}

// answerWith says how a create made under a key is answered again: status
// and the JSON of v, or of the result the service declared when v is nil
// (clinic.Idempotency.Answer). Called by a route's handler before the
// service; it does nothing for a request without a key.
func answerWith(r *http.Request, status int, v any) {
	if i := idempotencyFrom(r.Context()); i != nil {
		i.Answer = func(result any) (int, string, []byte, error) {
			if v == nil {
				v = result
			}
			b, err := encodeJSON(v)
			return status, "", b, err
		}
	}
}

// answerFunc is answerWith for an answer that depends on the result.
func answerFunc(r *http.Request, f func(result any) (int, any)) {
	if i := idempotencyFrom(r.Context()); i != nil {
		i.Answer = func(result any) (int, string, []byte, error) {
			status, v := f(result)
			b, err := encodeJSON(v)
			return status, "", b, err
		}
	}
}

type idemCtxKey struct{}

func idempotencyFrom(ctx context.Context) *clinic.Idempotency {
	i, _ := ctx.Value(idemCtxKey{}).(*clinic.Idempotency)
	return i
}

// keyedAPI runs a route under the request's Idempotency-Key, if it has one:
// the body read (within limit) and identified, a stored answer of the same
// request repeated, another request under the key refused (409), and
// otherwise the route run with the key in its context, its answer stored
// with its create.
func (s *Server) keyedAPI(w http.ResponseWriter, r *http.Request, rt route, run func(*http.Request) error) error {
	keys := r.Header.Values(IdempotencyHeader)
	if len(keys) == 0 {
		return run(r)
	}
	if len(keys) > 1 || !validKey(keys[0]) {
		return clinic.Errorf(clinic.EINVALID, IdempotencyHeader, "give one key of 1 to 255 visible ASCII characters (a UUID, say)")
	}
	key := keys[0]
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.bodyLimit(rt)))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return clinic.Errorf(clinic.ETOOLARGE, "", "the body is larger than %d bytes", s.bodyLimit(rt))
	} else if err != nil {
		return clinic.Errorf(clinic.EINVALID, "", "the body could not be read")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	content, err := bodyContent(r.Header.Get("Content-Type"), body)
	if err != nil {
		return err
	}
	d := digest(r.Method, r.URL.RequestURI(), content)
	replay := func() (bool, error) {
		prev, err := s.Svc.Idempotent(r.Context(), key)
		if err != nil || prev == nil {
			return false, err
		}
		if !sameRequest(prev.Fingerprint, d) {
			return true, clinic.Errorf(clinic.ECONFLICT, IdempotencyHeader, "this key was used on %s for another request: use a new key for a new request",
				prev.CreatedAt.UTC().Format(time.RFC3339))
		}
		w.Header().Set(ReplayedHeader, "true")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(prev.Status)
		_, _ = w.Write(prev.Body)
		return true, nil
	}
	if done, err := replay(); done || err != nil {
		return err
	}
	fp, err := fingerprint(d, rt.secret)
	if err != nil {
		return err
	}
	i := &clinic.Idempotency{Scope: clinic.IdempotencyScope(clinic.FromContext(r.Context())), Key: key, Fingerprint: fp}
	ctx := context.WithValue(clinic.WithIdempotency(r.Context(), i), idemCtxKey{}, i)
	err = run(r.WithContext(ctx))
	if clinic.IsKeyUsed(err) {
		// Another request under the key (on this server or another) recorded
		// first: its answer stands.
		if done, err2 := replay(); done {
			return err2
		}
	}
	return err
}

// bodyLimit is the most a route's body may hold.
func (s *Server) bodyLimit(rt route) int64 {
	switch {
	case rt.pattern == "POST /api/v1/reports":
		return s.MaxReport
	case rt.form:
		return int64(clinic.MaxLibraryFile) + 64<<10
	}
	return s.MaxBody
}

// encodeJSON is the body writeJSON writes.
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return b.Bytes(), err
}

// oncePage runs a page form's write under the form's key: a repeat of the
// form (a reload of its answer, a resent POST, a second press) is sent where
// the first went, recording nothing (replayForm, before the handler); the same
// key with other values is refused (the form was sent already). location is
// where the form's answer sends the browser, read in the write's transaction
// (a new record's id, or the result the service declared); it is stored with
// the write. done is true when the answer was written here (a repeat that
// raced this one, or a refusal of the key).
func (s *Server) oncePage(w http.ResponseWriter, r *http.Request, p *page, secret bool, location func(result any) string,
	write func(ctx context.Context) error) (done bool, err error) {
	key := p.Form.Get(formKeyField) // checked by uiHandler
	fp, err := fingerprint(formDigest(r, p), secret)
	if err != nil {
		return true, err
	}
	i := &clinic.Idempotency{Scope: clinic.IdempotencyScope(clinic.FromContext(r.Context())), Key: key, Fingerprint: fp,
		Answer: func(result any) (int, string, []byte, error) { return http.StatusSeeOther, location(result), nil, nil }}
	err = write(clinic.WithIdempotency(r.Context(), i))
	if clinic.IsKeyUsed(err) && s.replayForm(w, r, p) {
		return true, nil // another request sent the form first: its answer stands
	}
	return false, err
}

// formDigest identifies a page form as it was sent.
func formDigest(r *http.Request, p *page) []byte {
	return digest(r.Method, r.URL.Path, formContent(r, p.Sent))
}

// replayForm answers a form whose key has an answer stored: the same form is
// sent where the first went; other values under the key get a page saying
// the form was sent already. It reports whether it answered.
func (s *Server) replayForm(w http.ResponseWriter, r *http.Request, p *page) bool {
	key := p.Form.Get(formKeyField)
	if !validKey(key) {
		return false
	}
	prev, err := s.Svc.Idempotent(r.Context(), key)
	if err != nil || prev == nil {
		return false
	}
	if !sameRequest(prev.Fingerprint, formDigest(r, p)) {
		p.Title = "This form was sent already"
		p.Err = "This form was sent on " + prev.CreatedAt.UTC().Format("2 Jan 2006 15:04") + " UTC with other values; nothing new was recorded. Open the form again to record something new."
		p.Data = map[string]any{"Back": prev.Location}
		s.render(w, http.StatusConflict, "error", p)
		return true
	}
	http.Redirect(w, r, prev.Location, http.StatusSeeOther)
	return true
}

// FormKey is the key of the form posted to action: the one it was sent with
// when it is shown again (refused, or reviewed), a new one otherwise.
func (p *page) FormKey(action string) string {
	if p.Posted == action {
		if k := p.Form.Get(formKeyField); validKey(k) {
			return k
		}
	}
	return newFormKey()
}
