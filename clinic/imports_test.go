package clinic_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoTransportOrDriver guards the layout: the domain imports neither
// net/http nor any database package; those live at the edges (web, store).
func TestNoTransportOrDriver(t *testing.T) {
	forbidden := []string{"net/http", "database/sql", "modernc.org/", "github.com/jackc/", "github.com/prometheus/",
		"github.com/thecal/thecal/web", "github.com/thecal/thecal/store"}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range af.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			for _, bad := range forbidden {
				if p == bad || strings.HasPrefix(p, bad) && strings.HasSuffix(bad, "/") || strings.HasPrefix(p, bad+"/") {
					t.Errorf("%s imports %s: the clinic package must not know the transport or the database", f, p)
				}
			}
		}
	}
}
