// Command benchtool is the bench harness's helper (bench/run.sh drives
// it). Standard library only.
//
//	benchtool freeport
//	    prints a TCP port on 127.0.0.1 that was free a moment ago
//	benchtool load -url URL -format json|import|influx -batches N [-first F] [-series S] [-base UNIXSEC]
//	    posts batches F .. F+N-1 of S points (one point per series, batch b
//	    at time base+b seconds) and fails unless every answer is 2xx
//	benchtool count -url URL/api/v1/series
//	    prints how many points scoreboard holds in the series bench_*
//	benchtool report -raw FILE [-json OUT] [-md OUT]
//	    turns the raw results into the table (stdout), JSON and Markdown
//
// The data set: series "bench_<s>" for s in [0,S); batch b holds one point
// per series, all at time base+b; values are pseudo-random with two
// decimals in [0, 100), the same for every system.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtool freeport|load|report [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "freeport":
		err = freeport()
	case "load":
		err = load(os.Args[2:])
	case "count":
		err = count(os.Args[2:])
	case "report":
		err = report(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchtool %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// freeport binds port 0 and prints what the kernel picked. The caller
// starts its server on it right away and retries if it lost the race.
func freeport() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	return nil
}

// value is the pseudo-random value of series s in batch b (splitmix64).
func value(s, b int) float64 {
	x := uint64(s)<<32 ^ uint64(b) + 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x%10000) / 100
}

// batchBody renders batch b in one of the three wire formats.
func batchBody(buf *bytes.Buffer, format string, b, series int, base int64) {
	t := time.Unix(base+int64(b), 0).UTC()
	ts := t.Format(time.RFC3339)
	buf.Reset()
	if format == "json" {
		buf.WriteByte('[')
	}
	for s := 0; s < series; s++ {
		v := strconv.FormatFloat(value(s, b), 'f', -1, 64)
		switch format {
		case "json":
			if s > 0 {
				buf.WriteByte(',')
			}
			fmt.Fprintf(buf, `{"name":"bench_%d","value":%s,"time":"%s"}`, s, v, ts)
		case "import":
			fmt.Fprintf(buf, `{"metric":{"__name__":"bench_%d"},"values":[%s],"timestamps":[%d]}`+"\n",
				s, v, t.UnixMilli())
		case "influx":
			fmt.Fprintf(buf, "bench_%d value=%s %d\n", s, v, t.UnixNano())
		}
	}
	if format == "json" {
		buf.WriteByte(']')
	}
}

func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	url := fs.String("url", "", "endpoint to POST to")
	format := fs.String("format", "json", "json (scoreboard, Go peer), import (VictoriaMetrics JSON lines) or influx")
	batches := fs.Int("batches", 0, "number of batches")
	first := fs.Int("first", 0, "index of the first batch")
	series := fs.Int("series", 1000, "points per batch, one per series")
	base := fs.Int64("base", time.Now().Unix()-1800, "Unix time of batch 0")
	fs.Parse(args)
	if *url == "" || *batches <= 0 || *series <= 0 {
		return fmt.Errorf("need -url, -batches > 0 and -series > 0")
	}
	if *format != "json" && *format != "import" && *format != "influx" {
		return fmt.Errorf("unknown format %q", *format)
	}
	client := &http.Client{Timeout: 60 * time.Second}
	var buf bytes.Buffer
	for b := *first; b < *first+*batches; b++ {
		batchBody(&buf, *format, b, *series, *base)
		resp, err := client.Post(*url, "application/json", bytes.NewReader(buf.Bytes()))
		if err != nil {
			return fmt.Errorf("batch %d: %v", b, err)
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("batch %d: %s %s", b, resp.Status, msg)
		}
	}
	return nil
}

// count sums the "points" of scoreboard's series named bench_*, to check
// that a load stored everything it was sent.
func count(args []string) error {
	fs := flag.NewFlagSet("count", flag.ExitOnError)
	url := fs.String("url", "", "scoreboard's /api/v1/series")
	fs.Parse(args)
	resp, err := http.Get(*url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	var series []struct {
		Name   string `json:"name"`
		Points int64  `json:"points"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&series); err != nil {
		return err
	}
	var n int64
	for _, s := range series {
		if strings.HasPrefix(s.Name, "bench_") {
			n += s.Points
		}
	}
	fmt.Println(n)
	return nil
}
