// Command thecal is Thecal's one binary: the simulator, the clinical calculators,
// the pump process, programmer, patient device and clinic server.
// It holds wiring only; every rule lives in a package.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
