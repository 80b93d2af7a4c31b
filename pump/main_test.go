package pump

import (
	"flag"
	"os"
	"testing"
)

// TestMain runs the state-machine property test with 1000 cases unless
// -rapid.checks says otherwise: it is fast, and the cases are where bugs hide.
func TestMain(m *testing.M) {
	flag.Parse()
	given := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if !given["rapid.checks"] {
		flag.Set("rapid.checks", "1000")
	}
	os.Exit(m.Run())
}
