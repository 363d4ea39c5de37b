package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
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
	Rounds        int       `json:"rounds"`
	HotToFloor    float64   `json:"hotToFloorRatio"`
	HotToFloorP99 float64   `json:"hotToFloorP99Ratio"`
	Results       []result  `json:"results"`
	// EachRound holds every round of the interleaved scenarios, by
	// scenario, of which Results has the medians.
	EachRound map[string][]result `json:"eachRound,omitempty"`
	Ratios    []ratio             `json:"ratios,omitempty"`
	Notes     []string            `json:"notes,omitempty"`
	// RoundsRSSMiB and RoundsAnonMiB are linkd's VmRSS and RssAnon after
	// the rounds, when every tapped link holds an open dedup window; 0
	// without rounds.
	RoundsRSSMiB  float64 `json:"linkdRssMiBAfterRounds,omitempty"`
	RoundsAnonMiB float64 `json:"linkdRssAnonMiBAfterRounds,omitempty"`
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
		Rounds:    cfg.rounds,
	}
}

// ratio compares two scenarios round by round: Rounds holds each round's
// quotient, Median their median.
type ratio struct {
	Name   string    `json:"name"`
	Median float64   `json:"median"`
	Rounds []float64 `json:"rounds"`
}

// ratios adds the ratios the targets are stated in, for the scenarios
// that ran: of each round's rows, by scenario name.
func (rep *report) ratios(rows map[string][]result) {
	add := func(name, num, den string, field func(result) float64) float64 {
		n, d := rows[num], rows[den]
		if len(n) == 0 || len(n) != len(d) {
			return 0
		}
		r := ratio{Name: name}
		for k := range n {
			r.Rounds = append(r.Rounds, field(n[k])/field(d[k]))
		}
		r.Median = medianOf(r.Rounds)
		rep.Ratios = append(rep.Ratios, r)
		return r.Median
	}
	rate := func(r result) float64 { return r.Rate }
	p99 := func(r result) float64 { return r.P99ms }
	rep.HotToFloor = add("hot / floor requests/s", "hot", "floor", rate)
	rep.HotToFloorP99 = add("hot / floor p99", "hot", "floor", p99)
	add("uniform / hot p99", "uniform", "hot", p99)
	add("unique / hot requests/s", "unique", "hot", rate)
}

// median merges the rows of one scenario's rounds: each figure is the
// median of the rounds', counts and errors are summed, and the note is
// the median round's.
func median(rows []result) result {
	if len(rows) == 1 {
		return rows[0]
	}
	m := rows[0]
	figure := func(f func(result) float64) float64 {
		vs := make([]float64, len(rows))
		for i, r := range rows {
			vs[i] = f(r)
		}
		return medianOf(vs)
	}
	m.Rate = figure(func(r result) float64 { return r.Rate })
	m.P50ms = figure(func(r result) float64 { return r.P50ms })
	m.P99ms = figure(func(r result) float64 { return r.P99ms })
	m.P999ms = figure(func(r result) float64 { return r.P999ms })
	m.CPUus = figure(func(r result) float64 { return r.CPUus })
	m.Count, m.Seconds, m.Errors, m.Statuses = 0, 0, 0, nil
	rates := make([]string, len(rows))
	for i, r := range rows {
		m.Count += r.Count
		m.Seconds += r.Seconds
		m.Errors += r.Errors
		for k, v := range r.Statuses {
			if m.Statuses == nil {
				m.Statuses = make(map[string]int64)
			}
			m.Statuses[k] += v
		}
		if m.Sample == "" {
			m.Sample = r.Sample
		}
		if r.Rate == m.Rate {
			m.Note = r.Note
		}
		rates[i] = strconv.FormatFloat(r.Rate, 'f', 0, 64)
	}
	m.Note += fmt.Sprintf("; median of %d rounds (req/s %s)", len(rows),
		strings.Join(rates, ", "))
	return m
}

// medianOf returns the median of vs, the mean of the middle two for an
// even count.
func medianOf(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
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
		"warm-up, median of %d interleaved rounds\n\n", rep.GoVersion,
		rep.CPUs, rep.Links, rep.Duration, rep.Warmup, rep.Rounds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tconns\trate\tp50\tp99\tp99.9\terrors\t"+
		"cpu/req\t")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t\n", r.Scenario,
			r.Conns, rate(r.Rate, r.Unit), ms(r.P50ms), ms(r.P99ms),
			ms(r.P999ms), r.Errors, micros(r.CPUus))
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, r := range rep.Ratios {
		each := make([]string, len(r.Rounds))
		for i, v := range r.Rounds {
			each[i] = strconv.FormatFloat(v, 'f', 2, 64)
		}
		fmt.Fprintf(w, "%s: %.2fx (rounds: %s)\n", r.Name, r.Median,
			strings.Join(each, ", "))
	}
	fmt.Fprintf(w, "preload: %d links in %.1fs (%.0f links/s), then %d "+
		"for the webhook scenario; linkd VmRSS after both: %.1f MiB\n",
		rep.Links, rep.PreloadSecs, rep.PreloadRate, rep.HookLinks,
		rep.RSSMiB)
	if rep.RoundsRSSMiB > 0 {
		fmt.Fprintf(w, "linkd VmRSS after the rounds: %.1f MiB, of which "+
			"RssAnon (heap, stacks) %.1f MiB and the rest bbolt's file "+
			"pages mapped in\n", rep.RoundsRSSMiB, rep.RoundsAnonMiB)
	}
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
