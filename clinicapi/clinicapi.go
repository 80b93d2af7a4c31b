// Package clinicapi is the clinic server's JSON API (docs/openapi.yaml) as
// its clients outside the server call it: the patient's home monitor
// (package monitor) and the clinician programmer talking to the clinic
// (thecal program sync --clinic). It also owns the one place where a pump's
// reading — its status and event log, as package pumpwire reads them —
// becomes the clinic's interrogation report (ReportFrom).
//
// It holds no rule: the clinic decides, the client carries.
package clinicapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/thecal/thecal/clinic"
)

// Client calls one clinic server with one API token.
type Client struct {
	// URL is the server's base URL, e.g. http://localhost:8080.
	URL string
	// Token is the API token: a home monitor's (bound to its pump) or a
	// clinician's own (POST /api/v1/me/tokens).
	Token string
	// HTTP is the HTTP client; nil means one with a 30-second timeout.
	HTTP *http.Client

	mu     sync.Mutex
	offset time.Duration // the clinic's clock less ours, at the last answer
}

// TimeHeader is the header in which every answer of the API states the
// clinic's clock.
const TimeHeader = "Thecal-Time"

// Now is the clinic's clock, as its last answer stated it (our own clock
// until one has): what a relay dates its readings by, so that a reading is
// never dated before the order it shows, nor in the clinic's future, whatever
// this machine's clock says (and, in thecal demo, on its faster clock).
func (c *Client) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Sync reads the clinic's clock (GET /healthz).
func (c *Client) Sync(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodGet, "/healthz", nil, nil, nil)
	return err
}

func (c *Client) clockFrom(resp *http.Response, sent, got time.Time) {
	t, err := time.Parse(time.RFC3339Nano, resp.Header.Get(TimeHeader))
	if err != nil {
		return
	}
	c.mu.Lock()
	c.offset = t.Sub(sent.Add(got.Sub(sent) / 2))
	c.mu.Unlock()
}

// New returns a client of the server at base with token. It refuses a URL
// that is not http(s)://host.
func New(base, token string) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("clinic URL %q: write http(s)://HOST[:PORT]", base)
	}
	if strings.TrimSpace(token) == "" {
		return nil, errors.New("no API token: give --token-file FILE or set THECAL_TOKEN")
	}
	return &Client{URL: strings.TrimRight(base, "/"), Token: strings.TrimSpace(token)}, nil
}

// Error is the clinic's refusal of a request: the HTTP status and the
// error body's code, field and message (docs/openapi.yaml, Error).
type Error struct {
	Status  int
	Code    string
	Field   string
	Message string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("the clinic refused (%d %s)", e.Status, e.Code)
	if e.Field != "" {
		s += " on " + e.Field
	}
	return s + ": " + e.Message
}

// Permanent reports whether err is a refusal that sending the same request
// again will not change: a 4xx other than 408 (timeout) and 429 (throttled).
// Anything else — the server unreachable, a 5xx, a timeout — may pass later.
func Permanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status >= 400 && e.Status < 500 && e.Status != http.StatusRequestTimeout && e.Status != http.StatusTooManyRequests
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// do sends a request with a JSON body (nil: none) and decodes a 2xx answer
// into out (nil: discarded). It returns the status.
func (c *Client) do(ctx context.Context, method, path string, in, out any, header map[string]string) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	sent := time.Now()
	resp, err := c.http().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	c.clockFrom(resp, sent, time.Now())
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		var eb struct {
			Error struct {
				Code    string `json:"code"`
				Field   string `json:"field"`
				Message string `json:"message"`
			} `json:"error"`
		}
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
			e.Code, e.Field, e.Message = eb.Error.Code, eb.Error.Field, eb.Error.Message
		} else {
			e.Code, e.Message = http.StatusText(resp.StatusCode), strings.TrimSpace(string(b))
		}
		return resp.StatusCode, e
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("the clinic's answer to %s %s does not decode: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// Report posts an interrogation report. The clinic stores it once however
// often it is sent (its key is the pump and the time of the reading), so a
// report sent again after a lost answer is answered as a duplicate. key, if
// set, is sent as the Idempotency-Key header.
func (c *Client) Report(ctx context.Context, r *clinic.Report, key string) (*clinic.IngestResult, error) {
	var res clinic.IngestResult
	var h map[string]string
	if key != "" {
		h = map[string]string{"Idempotency-Key": key}
	}
	if _, err := c.do(ctx, http.MethodPost, "/api/v1/reports", r, &res, h); err != nil {
		return nil, err
	}
	return &res, nil
}

// Order fetches the order for the implanted pump with the serial.
func (c *Client) Order(ctx context.Context, serial string) (*clinic.PumpOrder, error) {
	var o clinic.PumpOrder
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/pumps/"+url.PathEscape(serial)+"/order", nil, &o, nil); err != nil {
		return nil, err
	}
	return &o, nil
}

// CheckRefill runs the clinic's checks and accounting of a refill, nothing
// written.
func (c *Client) CheckRefill(ctx context.Context, patientID int64, rf *clinic.Refill) (*clinic.Refill, error) {
	var out clinic.Refill
	if _, err := c.do(ctx, http.MethodPost, "/api/v1/patients/"+strconv.FormatInt(patientID, 10)+"/refills/check", rf, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// RecordRefill records a refill.
func (c *Client) RecordRefill(ctx context.Context, patientID int64, rf *clinic.Refill) (*clinic.Refill, error) {
	var out clinic.Refill
	if _, err := c.do(ctx, http.MethodPost, "/api/v1/patients/"+strconv.FormatInt(patientID, 10)+"/refills", rf, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// RecordSession uploads a programming session with the report it read back.
func (c *Client) RecordSession(ctx context.Context, up *clinic.SessionUpload) (*clinic.SessionResult, error) {
	var res clinic.SessionResult
	if _, err := c.do(ctx, http.MethodPost, "/api/v1/programming-sessions", up, &res, nil); err != nil {
		return nil, err
	}
	return &res, nil
}
