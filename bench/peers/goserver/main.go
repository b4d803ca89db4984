// Command goserver is the idiomatic Go version of scoreboard's HTTP API,
// the peer `make bench` measures scoreboard against. It is deliberately
// what a Go programmer would write in an afternoon with the standard
// library only: one mutex guarding one slice of points.
//
//	GET  /metrics  locks the mutex and streams the whole slice as JSON
//	               with json.NewEncoder(w).Encode while holding the lock
//	POST /metrics  decodes one point or an array and appends under the lock
//	GET  /healthz  {"status":"ok"}
//
// With -listen 127.0.0.1:0 the kernel picks the port; the first line on
// stderr is "listening address=HOST:PORT", as scoreboard logs it.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Point is one stored sample. The JSON names match scoreboard's.
type Point struct {
	Name  string    `json:"name"`
	Value float64   `json:"value"`
	Time  time.Time `json:"time"`
}

// Store is every point ever posted, oldest first.
type Store struct {
	mu     sync.Mutex
	points []Point
}

const maxBody = 1 << 20 // the same default cap as scoreboard's --max-body

func (s *Store) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(s.points); err != nil {
		log.Printf("write: %v", err)
	}
}

func (s *Store) post(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, `{"error":"body too large"}`, http.StatusRequestEntityTooLarge)
		return
	}
	var batch []Point
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		err = json.Unmarshal(body, &batch)
	} else {
		var p Point
		err = json.Unmarshal(body, &p)
		batch = []Point{p}
	}
	if err != nil {
		http.Error(w, fmt.Sprintf(`{"error":%q}`, err.Error()), http.StatusBadRequest)
		return
	}
	now := time.Now()
	for i := range batch {
		if batch[i].Name == "" {
			http.Error(w, `{"error":"field 'name' is required"}`, http.StatusBadRequest)
			return
		}
		if batch[i].Time.IsZero() {
			batch[i].Time = now
		}
	}
	s.mu.Lock()
	s.points = append(s.points, batch...)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Store) metrics(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		s.get(w, r)
	case http.MethodPost:
		s.post(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, `{"error":"method not allowed"}`, http.StatusMethodNotAllowed)
	}
}

func healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"status":"ok"}`)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve on (port 0 picks one)")
	flag.Parse()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "listen: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "listening address=%s\n", ln.Addr())

	s := &Store{}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", s.metrics)
	mux.HandleFunc("/healthz", healthz)
	log.Fatal(http.Serve(ln, mux))
}
