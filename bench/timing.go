package main

import (
	"net/http"
	"sort"
	"sync"
	"time"
)

// apiTimer is a RoundTripper that records when each request was in flight,
// so that a run's wall time can be split into time spent waiting for the
// EC2 API (moto) and everything else. A response counts as complete when
// its headers arrive: moto sends whole responses, so that is when the
// server is done.
type apiTimer struct {
	next http.RoundTripper

	mu        sync.Mutex
	intervals [][2]time.Time
}

func (t *apiTimer) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	end := time.Now()
	t.mu.Lock()
	t.intervals = append(t.intervals, [2]time.Time{start, end})
	t.mu.Unlock()
	return resp, err
}

func (t *apiTimer) reset() {
	t.mu.Lock()
	t.intervals = nil
	t.mu.Unlock()
}

// maxInFlight is the largest number of requests that were in flight at
// the same moment: 1 means the calls were made one after another.
func (t *apiTimer) maxInFlight() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, x := range t.intervals {
		edges = append(edges, edge{x[0], 1}, edge{x[1], -1})
	}
	// Ends sort before starts at the same instant.
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].at.Equal(edges[j].at) {
			return edges[i].delta < edges[j].delta
		}
		return edges[i].at.Before(edges[j].at)
	})
	n, most := 0, 0
	for _, e := range edges {
		n += e.delta
		most = max(most, n)
	}
	return most
}

// busy is the time during which at least one request was in flight (the
// union of the intervals, so parallel requests count once).
func (t *apiTimer) busy() time.Duration {
	t.mu.Lock()
	iv := append([][2]time.Time(nil), t.intervals...)
	t.mu.Unlock()
	sort.Slice(iv, func(i, j int) bool { return iv[i][0].Before(iv[j][0]) })
	var total time.Duration
	var curStart, curEnd time.Time
	for i, x := range iv {
		if i == 0 || x[0].After(curEnd) {
			total += curEnd.Sub(curStart)
			curStart, curEnd = x[0], x[1]
			continue
		}
		if x[1].After(curEnd) {
			curEnd = x[1]
		}
	}
	total += curEnd.Sub(curStart)
	return total
}
