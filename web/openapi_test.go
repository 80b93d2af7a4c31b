package web_test

// The API contract (issue 13, item 9): docs/openapi.yaml is validated as a
// document by an independent implementation (github.com/getkin/kin-openapi),
// and every API request of the web tests goes through contractCheck, which
// checks the answer — and a request the server accepted — against it. The
// document cannot drift from the server without a test failing.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// apiDoc loads and validates docs/openapi.yaml once.
var apiDoc = sync.OnceValues(func() (routers.Router, error) {
	l := openapi3.NewLoader()
	doc, err := l.LoadFromFile("../docs/openapi.yaml")
	if err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml does not load: %w", err)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableSchemaFormatValidation(), openapi3.EnableExamplesValidation(),
		openapi3.EnableSchemaPatternValidation()); err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml is not a valid OpenAPI 3 document: %w", err)
	}
	return legacy.NewRouter(doc)
})

// TestOpenAPIDocumentValid: the document is valid OpenAPI 3.0.
func TestOpenAPIDocumentValid(t *testing.T) {
	if _, err := apiDoc(); err != nil {
		t.Fatal(err)
	}
}

// contractCheck is an http.RoundTripper that checks API traffic against
// docs/openapi.yaml: every response, and every request the server accepted
// (2xx). A refused request is not checked: tests send wrong ones on purpose.
type contractCheck struct {
	base   http.RoundTripper
	router routers.Router
	report func(format string, args ...any)
	off    atomic.Bool // load runs measure the server, not the checker
}

func newContractCheck(t testing.TB, base http.RoundTripper) *contractCheck {
	r, err := apiDoc()
	if err != nil {
		t.Fatal(err)
	}
	return &contractCheck{base: base, router: r, report: t.Errorf}
}

func (c *contractCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	if c.off.Load() || !strings.HasPrefix(req.URL.Path, "/api/") && req.URL.Path != "/healthz" {
		return c.base.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	c.check(req, reqBody, resp, respBody)
	return resp, nil
}

func (c *contractCheck) check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	what := req.Method + " " + req.URL.RequestURI()
	// Route by path alone: the document names no server.
	r := req.Clone(context.Background())
	r.URL.Scheme, r.URL.Host, r.Host = "", "", ""
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := c.router.FindRoute(r)
	if err != nil {
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
			return // no such route: the server says so too
		}
		c.report("%s answered %d but is not in docs/openapi.yaml: %v", what, resp.StatusCode, err)
		return
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			c.report("%s was accepted (%d) but docs/openapi.yaml does not allow it: %v", what, resp.StatusCode, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		c.report("%s answered %d, which docs/openapi.yaml does not describe: %v\n%.300s", what, resp.StatusCode, err, respBody)
	}
}

// canned answers every request with one response.
type canned struct {
	code int
	body string
}

func (c canned) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: c.code, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(c.body)), Request: req}, nil
}

// TestContractCheckCatchesDrift: the check finds a response the document
// does not describe, an accepted request it does not allow, and an API route
// it does not have — and passes a conforming exchange.
func TestContractCheckCatchesDrift(t *testing.T) {
	for _, tc := range []struct {
		name, method, path, body string
		resp                     canned
		drift                    bool
	}{
		{"conforming", "GET", "/api/v1/worklist?limit=5", "", canned{200, `{"items":[],"total":0,"limit":5,"offset":0}`}, false},
		{"total not a number", "GET", "/api/v1/worklist", "", canned{200, `{"items":[],"total":"many","limit":50,"offset":0}`}, true},
		{"an error without its code", "GET", "/api/v1/worklist", "", canned{418, `{"error":{"message":"teapot"}}`}, true},
		{"accepted a bad query", "GET", "/api/v1/worklist?limit=abc", "", canned{200, `{"items":[],"total":0,"limit":50,"offset":0}`}, true},
		{"undocumented route", "GET", "/api/v1/teapot", "", canned{200, `{}`}, true},
		{"accepted a body the schema refuses", "POST", "/api/v1/patients", `{"mrn": 7}`, canned{201, `{}`}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			c, err := apiDoc()
			if err != nil {
				t.Fatal(err)
			}
			cc := &contractCheck{base: tc.resp, router: c, report: func(f string, a ...any) { got = append(got, fmt.Sprintf(f, a...)) }}
			req, _ := http.NewRequest(tc.method, "http://127.0.0.1:1"+tc.path, strings.NewReader(tc.body))
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := cc.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if drift := len(got) > 0; drift != tc.drift {
				t.Errorf("drift found %v, want %v: %q", drift, tc.drift, got)
			}
		})
	}
}
