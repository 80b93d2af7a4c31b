package clinicapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/pump"
)

// TestRefusalsPermanentOrNot: the clinic's refusal is read from its error
// body; a 4xx other than 408 and 429 is permanent (sending again will not
// change it), a 5xx, a 429 or no answer is not.
func TestRefusalsPermanentOrNot(t *testing.T) {
	status := http.StatusBadRequest
	var gotKey, gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotKey, gotAuth = r.Header.Get("Idempotency-Key"), r.Header.Get("Authorization")
		w.WriteHeader(status)
		w.Write([]byte(`{"error":{"code":"invalid","field":"status.reservoir","message":"not a volume"}}`))
	}))
	defer srv.Close()
	c, err := New(srv.URL, "thecal_secret\n")
	if err != nil {
		t.Fatal(err)
	}
	r := &clinic.Report{Format: clinic.ReportFormat, Serial: "4001", Model: pump.TP20, InterrogatedAt: time.Now()}
	_, err = c.Report(context.Background(), r, "monitor:k")
	var e *Error
	if !errors.As(err, &e) || e.Field != "status.reservoir" || !Permanent(err) || gotKey != "monitor:k" || gotAuth != "Bearer thecal_secret" {
		t.Fatalf("400: %v (key %q, auth %q)", err, gotKey, gotAuth)
	}
	for _, s := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusRequestTimeout} {
		status = s
		if _, err := c.Report(context.Background(), r, ""); err == nil || Permanent(err) {
			t.Errorf("%d: %v is not a temporary refusal", s, err)
		}
	}
	srv.Close()
	if _, err := c.Report(context.Background(), r, ""); err == nil || Permanent(err) {
		t.Errorf("no clinic: %v", err)
	}
	for _, bad := range [][2]string{{"ftp://x", "t"}, {"http://", "t"}, {"http://x", " "}} {
		if _, err := New(bad[0], bad[1]); err == nil {
			t.Errorf("New(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

// TestClinicClock: the client keeps the clinic's clock as its answers state
// it (here three hours ahead, as thecal demo's faster clock may be).
func TestClinicClock(t *testing.T) {
	ahead := 3 * time.Hour
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(TimeHeader, time.Now().Add(ahead).UTC().Format(time.RFC3339Nano))
		w.Write([]byte(`{"status":"ok"}`))
	}))
	defer srv.Close()
	c, _ := New(srv.URL, "t")
	if d := c.Now().Sub(time.Now()); d > time.Second || d < -time.Second {
		t.Fatalf("before any answer the client's clock is %v off", d)
	}
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := c.Now().Sub(time.Now().Add(ahead)); d > time.Second || d < -time.Second {
		t.Fatalf("after the clinic's answer the client's clock is %v off the clinic's", d)
	}
}
