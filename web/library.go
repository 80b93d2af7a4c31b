package web

import (
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/thecal/thecal/clinic"
)

// readLibraryUpload reads a drug library file and its note from a request:
// multipart/form-data with a "file" part and a "note" field, or the file
// itself as the body (application/json) with the note in the "note" query
// parameter. Nothing here judges the file: the service validates it.
func (s *Server) readLibraryUpload(w http.ResponseWriter, r *http.Request) (data []byte, note string, err error) {
	limit := int64(clinic.MaxLibraryFile) + 64<<10
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	tooLarge := func(err error) error {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return clinic.Errorf(clinic.ETOOLARGE, "file", "a drug library file is at most %d bytes", clinic.MaxLibraryFile)
		}
		return nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		if err := r.ParseMultipartForm(limit); err != nil {
			if e := tooLarge(err); e != nil {
				return nil, "", e
			}
			return nil, "", clinic.Errorf(clinic.EINVALID, "file", "the form could not be read")
		}
		defer func() { _ = r.MultipartForm.RemoveAll() }()
		note = r.FormValue("note")
		f, _, err := r.FormFile("file")
		if errors.Is(err, http.ErrMissingFile) {
			return nil, note, clinic.Errorf(clinic.EINVALID, "file", "choose a drug library file to publish")
		} else if err != nil {
			return nil, note, clinic.Errorf(clinic.EINVALID, "file", "the file could not be read")
		}
		defer f.Close()
		data, err = io.ReadAll(f)
		if err != nil {
			return nil, note, clinic.Errorf(clinic.EINVALID, "file", "the file could not be read")
		}
		return data, note, nil
	}
	if mt != "" && mt != "application/json" {
		return nil, "", clinic.Errorf(clinic.EINVALID, "Content-Type", "send the library file as application/json, or a multipart/form-data form with file and note")
	}
	data, err = io.ReadAll(r.Body)
	if err != nil {
		if e := tooLarge(err); e != nil {
			return nil, "", e
		}
		return nil, "", clinic.Errorf(clinic.EINVALID, "file", "the body could not be read")
	}
	return data, r.URL.Query().Get("note"), nil
}

// publishLibrary publishes a new drug library version (clinic.Service.PublishLibrary).
func (s *Server) publishLibrary(w http.ResponseWriter, r *http.Request) error {
	data, note, err := s.readLibraryUpload(w, r)
	if err != nil {
		return err
	}
	answerWith(r, http.StatusCreated, nil)
	v, err := s.Svc.PublishLibrary(r.Context(), data, note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// libraryVersions lists the library in force and the published versions.
func (s *Server) libraryVersions(w http.ResponseWriter, r *http.Request) error {
	st, err := s.Svc.LibraryVersions(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
