package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"
)

// result is one row of the report. Rate counts Unit per second; the
// latencies are per request, except where Note says otherwise.
type result struct {
	Scenario string  `json:"scenario"`
	Conns    int     `json:"conns,omitempty"`
	Count    int64   `json:"count"`
	Seconds  float64 `json:"seconds"`
	Rate     float64 `json:"rate"`
	Unit     string  `json:"unit"`
	P50ms    float64 `json:"p50Ms"`
	P99ms    float64 `json:"p99Ms"`
	P999ms   float64 `json:"p999Ms"`
	Errors   int64   `json:"errors"`
	// CPUus is the server's CPU time (user and system) per request in
	// microseconds; negative when it was not measured.
	CPUus    float64          `json:"cpuMicrosPerRequest"`
	Statuses map[string]int64 `json:"unexpectedStatuses,omitempty"`
	Sample   string           `json:"errorSample,omitempty"`
	Note     string           `json:"note,omitempty"`
}

// report is everything one bench run measured.
type report struct {
	Started       time.Time `json:"started"`
	GoVersion     string    `json:"goVersion"`
	CPUs          int       `json:"cpus"`
	Quick         bool      `json:"quick"`
	Links         int       `json:"links"`
	HookLinks     int       `json:"webhookLinks"`
	Duration      string    `json:"duration"`
	Warmup        string    `json:"warmup"`
	Conns         int       `json:"conns"`
	PreloadSecs   float64   `json:"preloadSeconds"`
	PreloadRate   float64   `json:"preloadLinksPerSecond"`
	RSSMiB        float64   `json:"linkdRssMiBAfterPreload"`
	HotToFloor    float64   `json:"hotToFloorRatio"`
	HotToFloorP99 float64   `json:"hotToFloorP99Ratio"`
	Results       []result  `json:"results"`
	Notes         []string  `json:"notes,omitempty"`
}

func newReport(cfg *config) *report {
	return &report{
		Started:   time.Now().UTC(),
		GoVersion: runtime.Version(),
		CPUs:      runtime.NumCPU(),
		Quick:     cfg.quick,
		Links:     cfg.links,
		Duration:  cfg.duration.String(),
		Warmup:    cfg.warmup.String(),
		Conns:     cfg.conns,
	}
}

// add appends r to the report and returns it.
func (rep *report) add(r result) result {
	rep.Results = append(rep.Results, r)
	return r
}

// note records one line for the notes under the table.
func (rep *report) note(format string, args ...any) {
	rep.Notes = append(rep.Notes, fmt.Sprintf(format, args...))
}

// print writes the table and the notes to w.
func (rep *report) print(w io.Writer) {
	fmt.Fprintf(w, "linkd-bench %s, %d CPUs, %d links, %s after %s "+
		"warm-up\n\n", rep.GoVersion, rep.CPUs, rep.Links, rep.Duration,
		rep.Warmup)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tconns\trate\tp50\tp99\tp99.9\terrors\t"+
		"cpu/req\t")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t\n", r.Scenario,
			r.Conns, rate(r.Rate, r.Unit), ms(r.P50ms), ms(r.P99ms),
			ms(r.P999ms), r.Errors, micros(r.CPUus))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nhot / floor: %.2fx the requests/s, %.2fx the p99\n",
		rep.HotToFloor, rep.HotToFloorP99)
	fmt.Fprintf(w, "preload: %d links in %.1fs (%.0f links/s), then %d "+
		"for the webhook scenario; linkd VmRSS after both: %.1f MiB\n",
		rep.Links, rep.PreloadSecs, rep.PreloadRate, rep.HookLinks,
		rep.RSSMiB)
	for _, r := range rep.Results {
		if r.Note != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Scenario, r.Note)
		}
		if r.Sample != "" {
			fmt.Fprintf(w, "%s: %v; first error: %s\n", r.Scenario,
				r.Statuses, r.Sample)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(w, n)
	}
}

// write stores the report as indented JSON in path.
func (rep *report) write(path string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func rate(v float64, unit string) string {
	return strconv.FormatFloat(v, 'f', 0, 64) + " " + unit + "/s"
}

func ms(v float64) string {
	if v == 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "ms"
}

func micros(v float64) string {
	if v < 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + "µs"
}

// quantiles sorts lat and returns its 50th, 99th and 99.9th percentiles
// in milliseconds, by nearest rank; all zero for no samples.
func quantiles(lat []time.Duration) (p50, p99, p999 float64) {
	if len(lat) == 0 {
		return 0, 0, 0
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		i := int(q*float64(len(lat))+0.999999) - 1
		i = max(0, min(i, len(lat)-1))
		return float64(lat[i]) / float64(time.Millisecond)
	}
	return at(0.50), at(0.99), at(0.999)
}

// perRequest divides a CPU time among n requests, in microseconds; it is
// -1 when the CPU time is unknown (negative) or there were no requests.
func perRequest(cpu time.Duration, n int64) float64 {
	if cpu < 0 || n <= 0 {
		return -1
	}
	return float64(cpu) / float64(time.Microsecond) / float64(n)
}
