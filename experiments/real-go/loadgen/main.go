// Command loadgen is an open-loop Poisson load generator for experiments/real-go.
//
// Inter-arrival times are exponential, drawn from a seeded generator; each
// request is sent at its scheduled time in its own goroutine, and its latency
// is measured from the scheduled send time (not the actual one), so a late
// sender shows up as latency instead of hiding it (no coordinated omission).
// The run is bounded by a request count and a duration, whichever comes
// first. Every request is written to -out as CSV:
//
//	sched_s,late_s,latency_s,status
//
// sched_s is the scheduled time from the start, late_s how late the request
// was actually sent, latency_s the time from the scheduled send to the end of
// the response body, status "ok", "http_NNN" or "error". Only 127.0.0.1 may
// be targeted.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"
)

type record struct {
	sched, late, latency time.Duration
	status               string
}

func checkTarget(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url %q: %v", raw, err)
	}
	if u.Scheme != "http" || u.Hostname() != "127.0.0.1" {
		return fmt.Errorf("-url %q: only http://127.0.0.1 may be targeted", raw)
	}
	return nil
}

// waitUntil sleeps until t with the precise timer, or time.Sleep without one.
func waitUntil(t time.Time, timer *preciseTimer) {
	d := time.Until(t)
	if timer == nil {
		time.Sleep(d)
		return
	}
	if err := timer.Sleep(d); err != nil {
		log.Fatal(err)
	}
}

func send(client *http.Client, target string, start time.Time, rec *record) {
	sched := start.Add(rec.sched)
	rec.late = time.Since(sched)
	resp, err := client.Get(target)
	if err != nil {
		rec.status = "error"
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch {
		case err != nil:
			rec.status = "error"
		case resp.StatusCode == http.StatusOK:
			rec.status = "ok"
		default:
			rec.status = "http_" + strconv.Itoa(resp.StatusCode)
		}
	}
	rec.latency = time.Since(sched)
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	return sorted[i]
}

func main() {
	target := flag.String("url", "", "target URL, http://127.0.0.1:PORT/path (required)")
	rate := flag.Float64("rate", 0, "mean arrival rate, requests/s (required)")
	n := flag.Int("n", 100000, "at most this many requests")
	seconds := flag.Float64("seconds", 30, "schedule requests for at most this many seconds")
	warmup := flag.Float64("warmup", 0, "leave requests scheduled before this many seconds out of the printed summary")
	seed := flag.Int64("seed", 1, "seed of the inter-arrival times")
	out := flag.String("out", "", "CSV file for every request (required)")
	timeout := flag.Duration("timeout", 10*time.Second, "per-request timeout")
	conns := flag.Int("conns", 4096, "keep-alive connections kept per host")
	maxInFlight := flag.Int("max-in-flight", 4096, "beyond this many outstanding requests, new ones are recorded as error without being sent")
	coarse := flag.Bool("coarse-timer", false, "use time.Sleep (millisecond wake-ups) instead of a timerfd")
	flag.Parse()
	if err := checkTarget(*target); err != nil {
		log.Fatal(err)
	}
	if *rate <= 0 || *n < 1 || *seconds <= 0 || *seconds > 3600 || *out == "" {
		log.Fatal("need -rate > 0, -n >= 1, 0 < -seconds <= 3600 and -out")
	}

	// Draw the whole schedule first, so sending does no arithmetic.
	rng := rand.New(rand.NewSource(*seed))
	var recs []record
	t := 0.0
	for len(recs) < *n {
		t += rng.ExpFloat64() / *rate
		if t >= *seconds {
			break
		}
		recs = append(recs, record{sched: time.Duration(t * 1e9)})
	}

	client := &http.Client{
		Timeout: *timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConns:        *conns,
			MaxIdleConnsPerHost: *conns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}

	var timer *preciseTimer
	if !*coarse {
		var err error
		if timer, err = newPreciseTimer(); err != nil {
			log.Fatalf("%v (use -coarse-timer to fall back to time.Sleep)", err)
		}
	}

	var wg sync.WaitGroup
	inFlight := make(chan struct{}, *maxInFlight)
	start := time.Now().Add(50 * time.Millisecond)
	for i := range recs {
		rec := &recs[i]
		waitUntil(start.Add(rec.sched), timer)
		select {
		case inFlight <- struct{}{}:
		default:
			rec.status, rec.latency = "error", -1
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-inFlight; wg.Done() }()
			send(client, *target, start, rec)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "sched_s,late_s,latency_s,status")
	var lat, late []float64
	errors := 0
	for _, r := range recs {
		fmt.Fprintf(w, "%.6f,%.6f,%.6f,%s\n", r.sched.Seconds(), r.late.Seconds(), r.latency.Seconds(), r.status)
		if r.sched.Seconds() < *warmup {
			continue
		}
		if r.status == "ok" {
			lat = append(lat, r.latency.Seconds()*1e3)
			late = append(late, r.late.Seconds()*1e3)
		} else {
			errors++
		}
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}

	sort.Float64s(lat)
	sort.Float64s(late)
	mean := 0.0
	for _, v := range lat {
		mean += v
	}
	if len(lat) > 0 {
		mean /= float64(len(lat))
	}
	fmt.Printf("sent %d in %.1fs (%.1f req/s offered); after %.0fs warmup: ok %d, failed %d\n",
		len(recs), elapsed.Seconds(), float64(len(recs)) / *seconds, *warmup, len(lat), errors)
	fmt.Printf("latency ms: mean %.3f p50 %.3f p99 %.3f max %.3f; send lateness ms: p50 %.3f p99 %.3f\n",
		mean, quantile(lat, 0.5), quantile(lat, 0.99), quantile(lat, 1), quantile(late, 0.5), quantile(late, 0.99))
}
