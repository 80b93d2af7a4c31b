package device

import (
	"flag"
	"os"
	"testing"
)

// TestMain runs the property tests with 1000 cases unless -rapid.checks says
// otherwise (as package pump does): the faults that stop a batch are rare draws.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if !set {
		flag.Set("rapid.checks", "1000")
	}
	os.Exit(m.Run())
}
