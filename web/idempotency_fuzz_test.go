package web

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// FuzzRequestIdentity: a request's key and body are read without panicking;
// a body's identity is the same however often it is computed, and a form's
// parts identify it whatever their boundary.
func FuzzRequestIdentity(f *testing.F) {
	f.Add("k-1", "application/json", []byte(`{"a":1}`))
	f.Add("", "multipart/form-data; boundary=X", []byte("--X\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--X--\r\n"))
	f.Add("two words", "multipart/form-data", []byte("--\r\n"))
	f.Add("ключ", "text/plain", []byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, key, contentType string, body []byte) {
		if validKey(key) && (len(key) > 255 || !utf8.ValidString(key) || bytes.ContainsAny([]byte(key), " \t\r\n")) {
			t.Fatalf("key %q accepted", key)
		}
		a, errA := bodyContent(contentType, body)
		b, errB := bodyContent(contentType, body)
		if (errA == nil) != (errB == nil) || !bytes.Equal(digest("POST", "/p", a), digest("POST", "/p", b)) {
			t.Fatal("the same body identified two ways")
		}
		if bytes.Equal(digest("POST", "/p", a), digest("POST", "/q", a)) {
			t.Fatal("another path, the same request")
		}
	})
}
