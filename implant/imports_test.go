package implant

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/thecal/thecal/"

// moduleGraph returns, for every package of the module, the module packages
// its non-test files import (the graph go list prints, read from the source).
func moduleGraph(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	graph := map[string][]string{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		if _, ok := graph[pkg]; !ok {
			graph[pkg] = nil
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if dep, ok := strings.CutPrefix(p, module); ok && !slices.Contains(graph[pkg], dep) {
				graph[pkg] = append(graph[pkg], dep)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return graph
}

// reaches returns every package pkg imports, directly or not.
func reaches(graph map[string][]string, pkg string) map[string]bool {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(p string) {
		for _, d := range graph[p] {
			if !seen[d] {
				seen[d] = true
				walk(d)
			}
		}
	}
	walk(pkg)
	return seen
}

// TestImportGraph guards the arrows of issue 10: the pump's clients (the
// programmer, the patient's device, what they share, and the clinic) speak to
// a pump through pumpwire and telemetry and never import the simulated device;
// the device imports no client; the wire and the link sit below both; and
// implanttest, which builds devices for the clients' tests, imports nothing
// that leads back to the device but the device itself.
func TestImportGraph(t *testing.T) {
	graph := moduleGraph(t)
	clients := []string{"programmer", "ptm", "peer", "clinic", "monitor", "clinicapi"}
	for _, c := range clients {
		if _, ok := graph[c]; !ok {
			t.Fatalf("no package %s in the module: the test reads the wrong tree", c)
		}
		if reaches(graph, c)["implant"] {
			t.Errorf("client %s imports implant (directly or not): clients import pumpwire and telemetry", c)
		}
	}
	for _, below := range []string{"pump", "pumpwire", "telemetry"} {
		for dep := range reaches(graph, below) {
			if dep == "implant" || slices.Contains(clients, dep) || strings.HasPrefix(dep, "implant/") {
				t.Errorf("%s imports %s: the core, the wire and the link sit below the device and its clients", below, dep)
			}
		}
	}
	for dep := range reaches(graph, "implant") {
		if slices.Contains(clients, dep) {
			t.Errorf("implant imports client %s", dep)
		}
	}
	for _, dep := range graph["implant/implanttest"] {
		if dep != "implant" && reaches(graph, dep)["implant"] {
			t.Errorf("implanttest imports %s, which imports implant: an arrow back up", dep)
		}
	}
	if !slices.Contains(graph["implant/implanttest"], "implant") || !slices.Contains(graph["programmer"], "pumpwire") {
		t.Error("the graph lacks arrows it must have: the test reads the wrong tree")
	}
}
