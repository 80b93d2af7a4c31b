package e2e

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The walkthrough of docs/adding-a-command.md, applied: its diff adds a pump
// command end to end (a loading bolus). TestAddingACommand applies it to a copy
// of the tree and runs the tests that walk the command table; then applies it
// with one piece left out at a time and requires those tests to fail.

const walkthrough = "../docs/adding-a-command.md"

// patch is a unified diff split by file, each file's diff by hunk.
type patch struct {
	files []filePatch
}

type filePatch struct {
	name   string
	header string   // the lines before the first hunk
	hunks  []string // each from its @@ line
}

// walkthroughPatch reads the diff out of the walkthrough: the one ```diff block.
func walkthroughPatch(t *testing.T) patch {
	t.Helper()
	doc, err := os.ReadFile(walkthrough)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "\n```diff\n")
	body, _, ok2 := strings.Cut(after, "\n```\n")
	if !ok || !ok2 {
		t.Fatalf("%s has no ```diff block", walkthrough)
	}
	var p patch
	for _, line := range strings.SplitAfter(body+"\n", "\n") {
		switch {
		case strings.HasPrefix(line, "diff --git "):
			f := strings.Fields(line)
			p.files = append(p.files, filePatch{name: strings.TrimPrefix(f[len(f)-1], "b/"), header: line})
		case len(p.files) == 0:
		case strings.HasPrefix(line, "@@"):
			fp := &p.files[len(p.files)-1]
			fp.hunks = append(fp.hunks, line)
		default:
			fp := &p.files[len(p.files)-1]
			if len(fp.hunks) == 0 {
				fp.header += line
			} else {
				fp.hunks[len(fp.hunks)-1] += line
			}
		}
	}
	return p
}

// without returns the diff with the hunks of file that contain text left out
// (all of the file's hunks when text is empty).
func (p patch) without(file, text string) string {
	var b strings.Builder
	for _, f := range p.files {
		var keep []string
		for _, h := range f.hunks {
			if f.name != file || (text != "" && !strings.Contains(h, text)) {
				keep = append(keep, h)
			}
		}
		if len(keep) > 0 {
			b.WriteString(f.header + strings.Join(keep, ""))
		}
	}
	return b.String()
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// treeWith copies the module to a temporary directory and applies diff there.
func treeWith(t *testing.T, diff string) string {
	t.Helper()
	dst := t.TempDir()
	root, _ := filepath.Abs("..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "apply", "--recount", "-")
	cmd.Dir, cmd.Stdin = dst, strings.NewReader(diff)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the walkthrough's diff does not apply to this tree: %v\n%s", err, out)
	}
	return dst
}

// goIn runs the go tool in dir.
func goIn(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command(goTool(), args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// The tests that walk the command table, by package.
var tableTests = [][]string{
	{"./pump", "TestCommandTable|TestStepCarriesOutEveryCommand|TestStepTimeOrder|TestLoadingBolus|TestZeroAllocations"},
	{"./pumpwire", "TestEveryLinkCommandHasABody|TestResponsesRoundTrip|FuzzMessage"},
	{"./telemetry", "TestRolesTable"},
	{"./implant", "TestDispatchCoversTheTable|TestImportGraph"},
	{"./sim", "TestScenarioEventsCoverTheCommandTable|TestSessionRolesFromTheTable"},
}

// TestAddingACommand applies the walkthrough: at most six files, and with them
// the new command passes every test that walks the command table, builds
// everywhere, and is vetted; each piece left out fails a test.
func TestAddingACommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a copy of the tree several times")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git to apply the diff with")
	}
	p := walkthroughPatch(t)
	if n := len(p.files); n == 0 || n > 6 {
		t.Fatalf("the walkthrough touches %d files, want 1 to 6", n)
	}
	full := p.without("", "")
	dir := treeWith(t, full)
	if out, err := goIn(dir, "vet", "./..."); err != nil {
		t.Fatalf("go vet with the new command: %v\n%s", err, out)
	}
	for _, tt := range tableTests {
		if out, err := goIn(dir, "test", "-count=1", "-run", tt[1], tt[0]); err != nil {
			t.Fatalf("go test %s with the new command: %v\n%s", tt[0], err, out)
		}
	}

	// A command left out of the table or of any of its consumers fails go test.
	for _, miss := range []struct {
		what, file, hunk, pkg, run string
	}{
		{"the command table's row", "pump/command.go", "{CmdLoadingBolus, \"loading-bolus\"", "./pump", "TestCommandTable"},
		{"Step's case", "pump/commands.go", "case LoadingBolus:", "./pump", "TestStepCarriesOutEveryCommand"},
		{"the wire's body", "pumpwire/commands.go", "", "./pumpwire", "TestEveryLinkCommandHasABody"},
		{"the simulator's place for it", "sim/sim.go", "", "./sim", "TestScenarioEventsCoverTheCommandTable"},
	} {
		t.Run("without "+miss.what, func(t *testing.T) {
			dir := treeWith(t, p.without(miss.file, miss.hunk))
			out, err := goIn(dir, "test", "-count=1", "-run", miss.run, miss.pkg)
			if err == nil || !bytes.Contains(out, []byte("--- FAIL: "+miss.run)) {
				t.Fatalf("go test %s -run %s did not fail its test without %s:\n%s", miss.pkg, miss.run, miss.what, out)
			}
		})
	}
}
