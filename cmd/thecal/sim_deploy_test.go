package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// deployFile reads a file of deploy/population.
func deployFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "population", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// shrink makes a deployment's command line a test's size: 30 patients for 2
// years, in 3 shards, its files in dir.
func shrink(args []string, n int, dir string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if (a == "--patients" || a == "--years") && i+1 < len(args) { // NAME VALUE: as NAME=VALUE
			a, i = a+"="+args[i+1], i+1
		}
		a = strings.ReplaceAll(a, "/"+strconv.Itoa(n), "/3")
		a = regexp.MustCompile(`^--patients[= ]?\d+$`).ReplaceAllString(a, "--patients=30")
		a = regexp.MustCompile(`^--years[= ]?\d+$`).ReplaceAllString(a, "--years=2")
		a = strings.ReplaceAll(a, "/out/", dir+"/")
		if !filepath.IsAbs(a) && (strings.HasPrefix(a, "shards/") || a == "plots" || strings.HasSuffix(a, ".csv")) {
			a = filepath.Join(dir, a)
		}
		out = append(out, a)
	}
	return out
}

// small refuses a command line that shrink did not make small.
func small(t *testing.T, a []string) {
	t.Helper()
	if !slices.Contains(a, "--patients=30") || !slices.Contains(a, "--years=2") {
		t.Fatalf("not a test's size: %v", a)
	}
}

// runMerge runs a merge command line, its shard files globbed as a shell would.
func runMerge(t *testing.T, line string) string {
	t.Helper()
	line, _, _ = strings.Cut(line, " > ")
	var args []string
	for _, f := range strings.Fields(line)[1:] { // the binary's name off
		if strings.Contains(f, "*") {
			m, _ := filepath.Glob(f)
			args = append(args, m...)
			continue
		}
		args = append(args, f)
	}
	st, out, errs := runCLI(args...)
	if st != 0 {
		t.Fatalf("%s: status %d: %s", line, st, errs)
	}
	return out
}

// TestDeployedShardsAreOneRun runs the commands of the Kubernetes Indexed Job
// and of the Slurm job array in deploy/population, as the cluster would
// (each shard's index put in, then the merge), at a test's size: the merged
// result is the whole run's, byte for byte, and the shard count in each
// command agrees with the job's number of tasks.
func TestDeployedShardsAreOneRun(t *testing.T) {
	_, whole, _ := runCLI("sim", "population", "--patients", "30", "--years", "2", "--seed", "1", "--seeds", "1", "--json")

	// Kubernetes: the shard container's args, with $(JOB_COMPLETION_INDEX).
	job := deployFile(t, "population-job.yaml")
	n, err := strconv.Atoi(regexp.MustCompile(`completions: (\d+)`).FindStringSubmatch(job)[1])
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(job, "args:\n")
	var args []string
	for _, l := range strings.Split(after, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "- ") {
			break
		}
		args = append(args, strings.TrimPrefix(l, "- "))
	}
	if !strings.Contains(strings.Join(args, " "), "--shard=$(JOB_COMPLETION_INDEX)/"+strconv.Itoa(n)) {
		t.Fatalf("the job's %d completions and its --shard disagree: %v", n, args)
	}
	dir := t.TempDir()
	for i := range 3 {
		a := shrink(args, n, dir)
		for j := range a {
			a[j] = strings.ReplaceAll(a[j], "$(JOB_COMPLETION_INDEX)", strconv.Itoa(i))
		}
		small(t, a)
		if st, _, errs := runCLI(a...); st != 0 {
			t.Fatalf("%v: status %d: %s", a, st, errs)
		}
	}
	merge := deployFile(t, "population-merge.yaml")
	line := regexp.MustCompile(`(/thecal sim merge .*)`).FindString(merge)
	if got := runMerge(t, strings.Join(shrink(strings.Fields(line), n, dir), " ")); got != whole {
		t.Errorf("Kubernetes: the merged shards differ from the whole run")
	}

	// Slurm: the array task's command line, with ${SLURM_ARRAY_TASK_ID}.
	array := deployFile(t, "population-array.sbatch")
	rng := regexp.MustCompile(`#SBATCH --array=0-(\d+)`).FindStringSubmatch(array)
	line = regexp.MustCompile(`(?m)^thecal sim population .*$`).FindString(array)
	if rng == nil || line == "" {
		t.Fatal("no --array or no thecal line in population-array.sbatch")
	}
	last, _ := strconv.Atoi(rng[1])
	if !strings.Contains(line, `--shard "${SLURM_ARRAY_TASK_ID}/`+strconv.Itoa(last+1)+`"`) {
		t.Fatalf("the array 0-%d and its --shard disagree: %s", last, line)
	}
	dir = t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "shards"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		l := strings.NewReplacer("${SLURM_ARRAY_TASK_ID}", strconv.Itoa(i), "${SLURM_CPUS_PER_TASK}", "2", `"`, "").Replace(line)
		a := shrink(strings.Fields(l)[1:], last+1, dir)
		small(t, a)
		if st, _, errs := runCLI(a...); st != 0 {
			t.Fatalf("%v: status %d: %s", a, st, errs)
		}
	}
	line = regexp.MustCompile(`(?m)^thecal sim merge .*$`).FindString(deployFile(t, "population-merge.sbatch"))
	if got := runMerge(t, strings.Join(shrink(strings.Fields(line), last+1, dir), " ")); got != whole {
		t.Errorf("Slurm: the merged shards differ from the whole run")
	}
}
