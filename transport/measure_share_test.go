package transport_test

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orkeys/openrouter-keys-mcp/transport"
)

// TestMeasureFairShareUnderFlood: one caller floods (64 connections with stalled bodies, and 1,000
// calls a second on 16 more) while another calls one at a time; the other's median latency must
// stay within 2× of what it is alone. The server runs caller mode's defaults: 20 calls a second and
// bursts of 40 per caller, a quarter of the 64 call slots; the other caller keeps to 15 calls a
// second, within its own rate.
//
//	TRANSPORT_MEASURE=1 go test -run MeasureFairShare -v -count=1 ./transport/
func TestMeasureFairShareUnderFlood(t *testing.T) {
	measuring(t)
	addr, _ := serveReal(t, nil, func(o *transport.HTTPOptions) {
		o.RatePerPrincipal, o.BurstPerPrincipal = 20, 40
		o.MaxInFlightPerCredential = 16
		o.BodyTimeout = time.Minute
	})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}, Timeout: 20 * time.Second}
	call := func(token string) (int, error) { return postListAs(client, addr, token) }
	median := func(n int) time.Duration {
		took := make([]time.Duration, 0, n)
		pace := time.NewTicker(time.Second / 15)
		defer pace.Stop()
		for range n {
			<-pace.C
			start := time.Now()
			if status, err := call(goodToken); err != nil || status != http.StatusOK {
				t.Fatalf("the other caller's call: %d %v", status, err)
			}
			took = append(took, time.Since(start))
		}
		slices.Sort(took)
		return took[n/2]
	}
	median(15) // warm up: connections, the server's first allocations
	alone := median(150)

	for range 64 {
		staller(t, addr, "Bearer other-flooder", []byte(strings.Repeat(" ", 100)))
	}
	stop := make(chan struct{})
	var sent, refused atomic.Int64
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for range 16 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				status, err := call("other-flooder")
				sent.Add(1)
				if err == nil && status == http.StatusTooManyRequests {
					refused.Add(1)
				}
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	floodStart := time.Now()
	sent.Store(0)
	refused.Store(0)
	flooded := median(150)
	rate := float64(sent.Load()) / time.Since(floodStart).Seconds()
	close(stop)
	wg.Wait()
	ratio := float64(flooded) / float64(alone)
	t.Logf("the other caller's median: %v alone, %v under the flood (%.2f×); the flooder sent %.0f calls/s, %d%% refused 429",
		alone.Round(time.Microsecond), flooded.Round(time.Microsecond), ratio, rate, 100*refused.Load()/max(sent.Load(), 1))
	if ratio > 2 {
		t.Errorf("the flood moved the other caller's median %.2f×, more than 2×", ratio)
	}
}
