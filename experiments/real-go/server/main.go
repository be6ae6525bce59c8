// Command server is the ground-truth Go service of experiments/real-go: a
// net/http server whose /work handler hands a CPU-bound job to a fixed pool
// of worker goroutines through a buffered channel (the waiting room), the
// shape podsim models as `workers` + `queue`.
//
// Endpoints (127.0.0.1 only):
//
//	/work[?ms=X]  spin for the calibrated CPU cost (-work, or X ms) in the pool; 503 if the queue is full
//	/noop         answer at once, outside the pool (measures HTTP handling CPU)
//	/stats        JSON: process CPU seconds (getrusage utime+stime) and request counts
//
// GOMAXPROCS comes from the environment, as in any Go binary.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// sink keeps the compiler from removing the spin loop.
var sink atomic.Uint64

// spin burns CPU for n iterations of a 64-bit xorshift-multiply hash.
func spin(n int64) {
	x := uint64(n) | 1
	for i := int64(0); i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		x *= 0x9E3779B97F4A7C15
	}
	sink.Add(x)
}

// threadCPU returns the CPU time of the calling OS thread (RUSAGE_THREAD).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		log.Fatalf("getrusage(RUSAGE_THREAD): %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// calibrate measures spin iterations per millisecond of thread CPU time:
// the median of several trials of ~50 ms each, long enough that the
// accounting granularity of thread CPU time does not matter (short trials
// and the fastest of them overestimated the speed by up to 4x here).
func calibrate() float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const n = 20_000_000
	var rates []float64
	for trial := 0; trial < 7; trial++ {
		t0 := threadCPU()
		spin(n)
		dt := threadCPU() - t0
		if dt > 0 {
			rates = append(rates, n/(float64(dt)/1e6))
		}
	}
	if len(rates) == 0 {
		log.Fatal("calibration failed: thread CPU time did not advance")
	}
	sort.Float64s(rates)
	return rates[len(rates)/2]
}

type job struct {
	iters int64
	done  chan struct{}
}

type server struct {
	itersPerMs float64
	workMs     float64
	workers    int
	jobs       chan job
	started    time.Time

	workOK, noop, rejected, badRequest atomic.Int64
	inFlight                           atomic.Int64 // /work requests between arrival and answer
}

func (s *server) worker() {
	for j := range s.jobs {
		spin(j.iters)
		j.done <- struct{}{}
	}
}

func (s *server) handleWork(w http.ResponseWriter, r *http.Request) {
	ms := s.workMs
	if q := r.URL.Query().Get("ms"); q != "" {
		v, err := strconv.ParseFloat(q, 64)
		if err != nil || v <= 0 || v > 1000 {
			s.badRequest.Add(1)
			http.Error(w, "ms must be a number in (0, 1000]", http.StatusBadRequest)
			return
		}
		ms = v
	}
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	j := job{iters: int64(ms * s.itersPerMs), done: make(chan struct{}, 1)}
	select {
	case s.jobs <- j:
	default:
		s.rejected.Add(1)
		http.Error(w, "queue full", http.StatusServiceUnavailable)
		return
	}
	<-j.done
	s.workOK.Add(1)
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *server) handleNoop(w http.ResponseWriter, r *http.Request) {
	s.noop.Add(1)
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *server) handleStats(w http.ResponseWriter, r *http.Request) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		http.Error(w, "getrusage: "+err.Error(), http.StatusInternalServerError)
		return
	}
	user := float64(ru.Utime.Nano()) / 1e9
	sys := float64(ru.Stime.Nano()) / 1e9
	out := map[string]any{
		"cpu_user_s":   user,
		"cpu_sys_s":    sys,
		"cpu_s":        user + sys,
		"uptime_s":     time.Since(s.started).Seconds(),
		"work_ok":      s.workOK.Load(),
		"noop":         s.noop.Load(),
		"rejected":     s.rejected.Load(),
		"bad_request":  s.badRequest.Load(),
		"queued":       len(s.jobs),
		"in_flight":    s.inFlight.Load(),
		"queue":        cap(s.jobs),
		"workers":      s.workers,
		"gomaxprocs":   runtime.GOMAXPROCS(0),
		"num_cpu":      runtime.NumCPU(),
		"iters_per_ms": s.itersPerMs,
		"work_ms":      s.workMs,
		"go_version":   runtime.Version(),
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// loopbackListener listens on addr, which must name 127.0.0.1.
func loopbackListener(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("-addr %q: %v", addr, err)
	}
	if host != "127.0.0.1" {
		return nil, fmt.Errorf("-addr %q: this server listens on 127.0.0.1 only", addr)
	}
	return net.Listen("tcp", addr)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (127.0.0.1 only; port 0 picks a free port)")
	workers := flag.Int("workers", 4, "worker goroutines in the pool")
	queue := flag.Int("queue", 4096, "waiting room in front of the pool (buffered channel); beyond it 503")
	work := flag.Duration("work", 2200*time.Microsecond, "CPU cost of one /work request (spin loop)")
	itersPerMs := flag.Float64("iters-per-ms", 0, "spin iterations per CPU millisecond (0: calibrate at start)")
	lifetime := flag.Duration("max-lifetime", 2*time.Hour, "exit after this long, whatever happens")
	flag.Parse()
	if *workers < 1 || *queue < 0 || *work <= 0 || *itersPerMs < 0 || *lifetime <= 0 {
		log.Fatal("need -workers >= 1, -queue >= 0, -work > 0, -iters-per-ms >= 0, -max-lifetime > 0")
	}

	s := &server{
		itersPerMs: *itersPerMs,
		workMs:     float64(*work) / 1e6,
		workers:    *workers,
		jobs:       make(chan job, *queue),
		started:    time.Now(),
	}
	if s.itersPerMs == 0 {
		s.itersPerMs = calibrate()
	}
	for i := 0; i < *workers; i++ {
		go s.worker()
	}

	ln, err := loopbackListener(*addr)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/work", s.handleWork)
	mux.HandleFunc("/noop", s.handleNoop)
	mux.HandleFunc("/stats", s.handleStats)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	// The driver reads this line to learn the port.
	fmt.Printf("listening %s gomaxprocs=%d workers=%d iters_per_ms=%.1f\n",
		ln.Addr(), runtime.GOMAXPROCS(0), *workers, s.itersPerMs)
	os.Stdout.Sync()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		select {
		case <-ctx.Done():
		case <-time.After(*lifetime):
			log.Printf("max lifetime %s reached, exiting", *lifetime)
		}
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
