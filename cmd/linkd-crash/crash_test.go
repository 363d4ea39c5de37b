package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTwoKills is the small run of the crash test that make test carries:
// two SIGKILLs of a real linkd under steady taps, no event lost.
func TestTwoKills(t *testing.T) {
	if testing.Short() {
		t.Skip("builds linkd and kills it twice")
	}
	bin := filepath.Join(t.TempDir(), "linkd")
	out, err := exec.Command("go", "build", "-o", bin, "../linkd").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var report strings.Builder
	err = run(t.Context(), []string{"-linkd", bin, "-rounds", "2",
		"-rate", "300", "-max-run", "1s"}, &report)
	t.Log(report.String())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(report.String(), "total over 2 kills") ||
		strings.Contains(report.String(), " 0 taps answered") {
		t.Fatalf("the run tapped nothing:\n%s", report.String())
	}
}
