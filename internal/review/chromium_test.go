package review_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/exercise"
	"github.com/firebreak-ir/firebreak/internal/review"
)

// chromium finds the headless browser, skipping the test when there is none.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium or chromium-browser in PATH: install Debian's chromium (apt-get install chromium) to open the HTML report in a browser")
	return ""
}

// runChromium runs the browser headless on file with args, returning its
// standard output. The context only bounds a browser that hangs.
func runChromium(t *testing.T, bin, dir, file string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--user-data-dir=" + filepath.Join(dir, "profile")}, args...)
	cmd := exec.CommandContext(ctx, bin, append(all, "file://"+file)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// TestHTMLInChromium opens the library exercise's report (with a small
// Monte Carlo) in headless Chromium: the screenshot is a PNG of some size,
// and the DOM the browser built holds the SVG timeline, the histograms and
// every objective's name. A hostile report's DOM holds no script element.
// FIREBREAK_REPORT_SCREENSHOT=FILE keeps the screenshot, to look at.
func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	sum, err := exercise.MonteCarlo(library(t), libraryExercise, exercise.MonteCarloOptions{Runs: 20, Seed: 1, Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	rv, res := libraryReview(t, 1, sum)
	page := filepath.Join(dir, "report.html")
	var b bytes.Buffer
	if err := review.WriteHTML(&b, rv); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	shot := filepath.Join(dir, "report.png")
	runChromium(t, bin, dir, page, "--screenshot="+shot, "--window-size=1200,900")
	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 20_000 {
		t.Errorf("the screenshot is not a PNG of some size (%d bytes, starts %q)", len(png), png[:min(len(png), 8)])
	}
	if keep := os.Getenv("FIREBREAK_REPORT_SCREENSHOT"); keep != "" {
		_ = os.WriteFile(keep, png, 0o644)
	}

	dom := string(runChromium(t, bin, dir, page, "--dump-dom"))
	if !strings.Contains(dom, `<svg id="timeline"`) || strings.Count(dom, "<svg") != 1+len(sum.Objectives) {
		t.Errorf("the DOM lacks the SVG timeline or the histograms (%d svg elements)", strings.Count(dom, "<svg"))
	}
	if strings.Count(dom, `<rect class="st-done"`) != len(res.Steps) {
		t.Errorf("the timeline has %d done bars, the run %d steps done", strings.Count(dom, `<rect class="st-done"`), len(res.Steps))
	}
	for _, o := range res.Objectives {
		if !strings.Contains(dom, "<td>"+o.Name+"</td>") {
			t.Errorf("the DOM lacks objective %s", o.Name)
		}
	}

	hostilePage := filepath.Join(dir, "hostile.html")
	b.Reset()
	if err := review.WriteHTML(&b, hostileReviews()[0]); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hostilePage, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dom = string(runChromium(t, bin, dir, hostilePage, "--dump-dom"))
	for _, bad := range []string{"<script", "<img", "<!--"} {
		if strings.Contains(dom, bad) {
			t.Errorf("the hostile report's DOM holds %s", bad)
		}
	}
	if !strings.Contains(dom, `<svg id="timeline"`) || !strings.Contains(dom, "&lt;/svg&gt;&lt;script&gt;") {
		t.Errorf("the hostile report's DOM lacks its timeline or its escaped text")
	}
}
