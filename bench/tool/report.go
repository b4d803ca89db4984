// report.go - `benchtool report`: raw results in, one table out.
//
// The raw file is tab-separated, one fact a line, appended by run.sh:
//
//	meta   KEY  VALUE            (date, machine, settings; "note" repeats)
//	result KEY  SYSTEM  VALUE    (one run's figure)
//	result KEY  SYSTEM  VALUE  >=   (a lower bound: the run stalled)
//	result KEY:cpu  SYSTEM  VALUE   (the server's core utilisation then)
//
// rows below fixes the order of the table, the units and the targets;
// a row with no results (e.g. a workload that was skipped) is left out.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

var systems = []struct{ key, label string }{
	{"scoreboard", "scoreboard"},
	{"go", "Go peer"},
	{"vm", "VictoriaMetrics"},
}

type check struct {
	peer  string  // "go", "vm", or "" for an absolute bound on scoreboard
	self  string  // with peer "": divide by this row's scoreboard median
	ge    bool    // the figure must be >= limit (else <=)
	limit float64 // in raw units
}

type rowSpec struct {
	key, workload, unit string
	cpuKey              string  // utilisation figures; default key+":cpu"
	scale               float64 // displayed = raw / scale
	sbFrom              string  // scoreboard's figure comes from this row
	target              string
	checks              []check
}

var rows = []rowSpec{
	{key: "read_1k_rps", workload: "GET /metrics, 1k points", unit: "req/s"},
	{key: "read_1k_mbps", cpuKey: "read_1k_rps:cpu", workload: "GET /metrics, 1k points", unit: "MB/s",
		target: ">= 5x Go", checks: []check{{peer: "go", ge: true, limit: 5}}},
	{key: "read_10k_rps", workload: "GET /metrics, 10k points", unit: "req/s"},
	{key: "read_10k_mbps", cpuKey: "read_10k_rps:cpu", workload: "GET /metrics, 10k points", unit: "MB/s",
		target: ">= 5x Go", checks: []check{{peer: "go", ge: true, limit: 5}}},
	{key: "read_100k_rps", workload: "GET /metrics, 100k points", unit: "req/s"},
	{key: "read_100k_mbps", cpuKey: "read_100k_rps:cpu", workload: "GET /metrics, 100k points", unit: "MB/s",
		target: ">= 5x Go", checks: []check{{peer: "go", ge: true, limit: 5}}},
	{key: "ingest_batch_pps", workload: "POST 1,000-point batches (VM: /api/v1/import)",
		unit: "points/s", target: ">= 3x Go, >= VM import",
		checks: []check{{peer: "go", ge: true, limit: 3}, {peer: "vm", ge: true, limit: 1}}},
	{key: "ingest_batch_influx_pps", workload: "POST 1,000-point batches (VM: Influx /write)",
		unit: "points/s", sbFrom: "ingest_batch_pps"},
	{key: "ingest_single_rps", workload: "POST single points (VM: /api/v1/import)", unit: "req/s"},
	{key: "ingest_single_per_cpu_s", workload: "  the same per server CPU-second", unit: "req/CPU-s"},
	{key: "healthz_rps", workload: "GET /healthz (VM: /health)", unit: "req/s",
		target: ">= 1.5x Go", checks: []check{{peer: "go", ge: true, limit: 1.5}}},
	{key: "healthz_per_cpu_s", workload: "  the same per server CPU-second", unit: "req/CPU-s",
		target: ">= 1.5x Go", checks: []check{{peer: "go", ge: true, limit: 1.5}}},
	{key: "mem_bytes_per_point", workload: "resident bytes/point after {mem} points", unit: "B",
		target: "<= 1/20 of Go", checks: []check{{peer: "go", ge: false, limit: 0.05}}},
	{key: "mem_vm_disk_bytes_per_point", workload: "on-disk bytes/point after {mem} points", unit: "B",
		sbFrom: "mem_bytes_per_point"},
	{key: "idle_rss_bytes", workload: "idle resident memory after start", unit: "MiB",
		scale: 1 << 20, target: "<= 4 MiB",
		checks: []check{{ge: false, limit: 4 << 20}}},
	{key: "idle_pss_bytes", workload: "  the same, proportional (PSS)", unit: "MiB", scale: 1 << 20},
	{key: "writer_p50_alone_us", workload: "writer latency p50, alone", unit: "us"},
	{key: "writer_p99_alone_us", workload: "writer latency p99, alone", unit: "us"},
	{key: "writer_p50_readers_us", workload: "writer latency p50, 8 readers of 10k", unit: "us"},
	{key: "writer_p99_readers_us", workload: "writer latency p99, 8 readers of 10k", unit: "us",
		target: "<= 1.5x own p99 alone",
		checks: []check{{self: "writer_p99_alone_us", ge: false, limit: 1.5}}},
	{key: "writer_p50_slow_us", workload: "writer latency p50, 1 slow reader of 100k", unit: "us"},
	{key: "writer_p99_slow_us", workload: "writer latency p99, 1 slow reader of 100k", unit: "us",
		target: "<= 1.5x own p99 alone",
		checks: []check{{self: "writer_p99_alone_us", ge: false, limit: 1.5}}},
	{key: "collector_cpu_s_per_min", workload: "idle CPU at 1s collector interval", unit: "CPU-s/min",
		target: "<= 0.5", checks: []check{{ge: false, limit: 0.5}}},
	{key: "collector_cpu_ticks_s_per_min", workload: "  the same from /proc/PID/stat ticks", unit: "CPU-s/min"},
	{key: "dashboard_page_bytes", workload: "dashboard: GET / and its assets", unit: "KiB", scale: 1 << 10},
	{key: "dashboard_page_gzip_bytes", workload: "  the same, gzip", unit: "KiB", scale: 1 << 10},
	{key: "dashboard_first_chart_ms", workload: "dashboard: load to first chart (fresh Chromium)", unit: "ms"},
	{key: "dashboard_all_charts_ms", workload: "  load to all five overview charts", unit: "ms"},
	{key: "dashboard_idle_cpu_s_per_min", workload: "server CPU, no dashboard open", unit: "CPU-s/min"},
	{key: "dashboard_live_cpu_s_per_min", workload: "  the same with one live dashboard", unit: "CPU-s/min"},
	{key: "dashboard_live_rps", workload: "  requests/s of one live dashboard", unit: "req/s"},
}

// summary is one system's figures for one row.
type summary struct {
	Runs       []float64 `json:"runs"`
	Median     float64   `json:"median"`
	Min        float64   `json:"min"`
	Max        float64   `json:"max"`
	LowerBound bool      `json:"lower_bound,omitempty"`
}

type rowOut struct {
	Key      string              `json:"key"`
	Workload string              `json:"workload"`
	Unit     string              `json:"unit"`
	Systems  map[string]*summary `json:"systems"`
	CPU      map[string]*summary `json:"server_cpu,omitempty"`
	Ratios   map[string]float64  `json:"ratios,omitempty"`
	Target   string              `json:"target,omitempty"`
	Met      *bool               `json:"met,omitempty"`
	Detail   string              `json:"detail,omitempty"`
	spec     rowSpec
}

type reportOut struct {
	Meta  map[string]string `json:"meta"`
	Notes []string          `json:"notes"`
	Rows  []*rowOut         `json:"rows"`
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// readRaw parses the raw file into meta, notes and runs[key][system].
func readRaw(r io.Reader, out *reportOut) (map[string]map[string]*summary, error) {
	res := map[string]map[string]*summary{}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		f := strings.Split(sc.Text(), "\t")
		switch {
		case len(f) == 3 && f[0] == "meta" && f[1] == "note":
			out.Notes = append(out.Notes, f[2])
		case len(f) == 3 && f[0] == "meta":
			out.Meta[f[1]] = f[2]
		case (len(f) == 4 || len(f) == 5) && f[0] == "result":
			v, err := strconv.ParseFloat(f[3], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("line %d: bad value %q", line, f[3])
			}
			if res[f[1]] == nil {
				res[f[1]] = map[string]*summary{}
			}
			s := res[f[1]][f[2]]
			if s == nil {
				s = &summary{}
				res[f[1]][f[2]] = s
			}
			s.Runs = append(s.Runs, v)
			s.LowerBound = s.LowerBound || (len(f) == 5 && f[4] == ">=")
		default:
			return nil, fmt.Errorf("line %d: cannot parse %q", line, sc.Text())
		}
	}
	for _, bySys := range res {
		for _, s := range bySys {
			s.Median = median(s.Runs)
			s.Min, s.Max = s.Runs[0], s.Runs[0]
			for _, v := range s.Runs {
				s.Min = math.Min(s.Min, v)
				s.Max = math.Max(s.Max, v)
			}
		}
	}
	return res, sc.Err()
}

// evaluate fills ratios, met and detail of one row.
func evaluate(row *rowOut, res map[string]map[string]*summary) {
	sb := row.Systems["scoreboard"]
	if row.spec.sbFrom != "" {
		sb = res[row.spec.sbFrom]["scoreboard"]
	}
	if sb != nil {
		for _, p := range []string{"go", "vm"} {
			if peer := row.Systems[p]; peer != nil && peer.Median != 0 {
				row.Ratios[p] = sb.Median / peer.Median
			}
		}
	}
	if len(row.spec.checks) == 0 || sb == nil {
		return
	}
	met := true
	var details []string
	for _, c := range row.spec.checks {
		got := sb.Median
		switch {
		case c.peer != "":
			r, ok := row.Ratios[c.peer]
			if !ok {
				met = false
				details = append(details, "no "+c.peer+" figure")
				continue
			}
			got = r
		case c.self != "":
			got = math.NaN() // stays NaN (not met) without both figures
			for _, sys := range []string{"scoreboard", "go"} {
				base := res[c.self][sys]
				if base == nil || row.Systems[sys] == nil || base.Median == 0 {
					continue
				}
				r := row.Systems[sys].Median / base.Median
				if sys == "scoreboard" {
					got = r
				}
				details = append(details, fmt.Sprintf("%s %.1fx", sys, r))
			}
		}
		if math.IsNaN(got) || (c.ge && got < c.limit) || (!c.ge && got > c.limit) {
			met = false
		}
		// A stalled (lower-bound) figure cannot prove a "<=" target.
		if !c.ge && sb.LowerBound {
			met = false
		}
	}
	row.Met = &met
	row.Detail = strings.Join(details, ", ")
}

// num prints v with three significant digits and a k/M/G suffix.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return trim(v/1e9) + "G"
	case a >= 1e6:
		return trim(v/1e6) + "M"
	case a >= 1e4:
		return trim(v/1e3) + "k"
	}
	return trim(v)
}

func trim(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1 || a == 0:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func cell(s *summary, scale float64) string {
	if s == nil {
		return "-"
	}
	lb := ""
	if s.LowerBound {
		lb = ">="
	}
	out := lb + num(s.Median/scale)
	if len(s.Runs) > 1 {
		out += fmt.Sprintf(" [%s–%s]", num(s.Min/scale), num(s.Max/scale))
	}
	return out
}

func ratioCell(row *rowOut, peer string) string {
	r, ok := row.Ratios[peer]
	if !ok {
		return "-"
	}
	sb := row.Systems["scoreboard"]
	if row.spec.sbFrom != "" {
		sb = nil // only the peer's flag matters here
	}
	p := row.Systems[peer]
	switch {
	case p.LowerBound && sb != nil && sb.LowerBound:
		return "n/a"
	case p.LowerBound:
		return "<=" + trim(r) + "x"
	case sb != nil && sb.LowerBound:
		return ">=" + trim(r) + "x"
	}
	return trim(r) + "x"
}

// cpuCell shows each system's median core utilisation, "97/64/-%".
func cpuCell(row *rowOut) string {
	if row.CPU == nil {
		return ""
	}
	var parts []string
	for _, s := range systems {
		if c := row.CPU[s.key]; c != nil {
			parts = append(parts, strconv.FormatFloat(100*c.Median, 'f', 0, 64))
		} else {
			parts = append(parts, "-")
		}
	}
	return strings.Join(parts, "/") + "%"
}

func metCell(row *rowOut) string {
	switch {
	case row.Met == nil:
		return ""
	case *row.Met:
		return "yes"
	}
	return "NO"
}

// table renders the rows as cells: header first.
func table(rep *reportOut) [][]string {
	t := [][]string{{"workload", "unit"}}
	for _, s := range systems {
		t[0] = append(t[0], s.label)
	}
	t[0] = append(t[0], "sb/Go", "sb/VM", "target", "met", "detail",
		"server CPU sb/Go/VM")
	for _, row := range rep.Rows {
		scale := row.spec.scale
		if scale == 0 {
			scale = 1
		}
		c := []string{row.Workload, row.Unit}
		for _, s := range systems {
			c = append(c, cell(row.Systems[s.key], scale))
		}
		c = append(c, ratioCell(row, "go"), ratioCell(row, "vm"), row.Target,
			metCell(row), row.Detail, cpuCell(row))
		t = append(t, c)
	}
	return t
}

func writeText(w io.Writer, t [][]string) {
	width := make([]int, len(t[0]))
	for _, r := range t {
		for i, c := range r {
			if n := utf8.RuneCountInString(c); n > width[i] {
				width[i] = n
			}
		}
	}
	for _, r := range t {
		var b strings.Builder
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

func writeMarkdown(w io.Writer, t [][]string) {
	for i, r := range t {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
		if i == 0 {
			fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(r)))
		}
	}
}

func report(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	raw := fs.String("raw", "", "raw results file")
	jsonOut := fs.String("json", "", "write the table as JSON here")
	mdOut := fs.String("md", "", "write the table as Markdown here")
	strict := fs.Bool("strict", false, "fail unless every row has results")
	fs.Parse(args)
	f, err := os.Open(*raw)
	if err != nil {
		return err
	}
	defer f.Close()
	rep := &reportOut{Meta: map[string]string{}, Notes: []string{}}
	res, err := readRaw(f, rep)
	if err != nil {
		return err
	}
	mem := "?"
	if v, err := strconv.ParseFloat(rep.Meta["mem_points"], 64); err == nil {
		mem = strings.Replace(num(v), ".00", "", 1)
	}
	for _, spec := range rows {
		if spec.cpuKey == "" {
			spec.cpuKey = spec.key + ":cpu"
		}
		spec.workload = strings.ReplaceAll(spec.workload, "{mem}", mem)
		if res[spec.key] == nil {
			if *strict {
				return fmt.Errorf("no result for %s", spec.key)
			}
			continue
		}
		row := &rowOut{Key: spec.key, Workload: spec.workload, Unit: spec.unit,
			Systems: res[spec.key], CPU: res[spec.cpuKey],
			Ratios: map[string]float64{},
			Target: spec.target, spec: spec}
		evaluate(row, res)
		rep.Rows = append(rep.Rows, row)
	}
	t := table(rep)
	writeText(os.Stdout, t)
	for _, n := range rep.Notes {
		fmt.Println("  * " + n)
	}
	if *mdOut != "" {
		var b strings.Builder
		writeMarkdown(&b, t)
		b.WriteString("\n")
		for _, n := range rep.Notes {
			b.WriteString("- " + n + "\n")
		}
		if err := os.WriteFile(*mdOut, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	if *jsonOut != "" {
		js, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonOut, append(js, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}
