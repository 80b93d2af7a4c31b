package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/strictjson"
)

// decode reads one JSON object from the request body into v, strictly, with
// strictjson (json/v2: field names match exactly, a field given twice or
// unknown is refused, nothing may follow the object; a null member counts as
// absent, as in the API's documents), at most limit bytes. A bad body is
// refused naming the field at fault by its path (status.active_alarms[0],
// program.flex[1].at), read from the error's JSON pointer, never from its text.
func decode(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return clinic.Errorf(clinic.ETOOLARGE, "", "the body is larger than %d bytes", limit)
	} else if err != nil {
		return clinic.Errorf(clinic.EINVALID, "", "the body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return clinic.Errorf(clinic.EINVALID, "", "a JSON object is required")
	}
	if err := strictjson.Unmarshal(body, v, strictjson.NullAbsent); err != nil {
		var se *strictjson.Error
		if !errors.As(err, &se) {
			return clinic.Errorf(clinic.EINVALID, "", "the body is not a JSON object this route takes")
		}
		field := se.Path
		if field == strictjson.File {
			field = "" // the body as a whole
		}
		return clinic.Errorf(clinic.EINVALID, field, "%s", se.Reason)
	}
	return nil
}
