package transport

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Defaults for ConnLimits.
const (
	DefaultMaxConns        = 512
	DefaultMaxConnsPerAddr = 128
)

// ConnLimits bound the connections a server holds, before any of them has said who it is: each
// costs memory (buffers, its header, a goroutine) whatever it goes on to send.
type ConnLimits struct {
	// Max caps the open connections; DefaultMaxConns when zero.
	Max int
	// MaxPerAddr caps the open connections from one remote IP address, so that one host cannot take
	// them all; DefaultMaxConnsPerAddr when zero. Loopback peers are not counted per address: on
	// loopback every client, and a reverse proxy in front of everyone, shares 127.0.0.1, so the cap
	// would only lower Max for all of them. Behind a proxy on another address, raise it to Max.
	MaxPerAddr int
}

// LimitConns returns ln with limits: a connection beyond them makes room by closing an idle
// keep-alive connection (of the same address, for the per-address cap) when there is one, and is
// otherwise answered 503 and closed at once. ServeHTTP applies the defaults to a listener that
// did not come from LimitConns.
func LimitConns(ln net.Listener, l ConnLimits, logger zerolog.Logger) net.Listener {
	setDefault(&l.Max, DefaultMaxConns)
	setDefault(&l.MaxPerAddr, DefaultMaxConnsPerAddr)
	return &connLimiter{Listener: ln, l: l, logger: logger, open: make(map[*limitedConn]struct{}),
		perAddr: make(map[string]int)}
}

// connLimiter is the listener LimitConns returns. ServeHTTP reports each connection's state to it
// (track), so that it knows which ones are idle.
type connLimiter struct {
	net.Listener
	l      ConnLimits
	logger zerolog.Logger

	mu        sync.Mutex
	open      map[*limitedConn]struct{}
	perAddr   map[string]int
	refused   int       // since the last log line about refusals
	refusedAt time.Time // when that line was written
}

// limitedConn is a connection the limiter counts until it is closed.
type limitedConn struct {
	net.Conn
	cl   *connLimiter
	addr string // "" for loopback peers, which are not counted per address
	idle bool
	once sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() { c.cl.release(c) })
	return c.Conn.Close()
}

// Accept returns the next connection within the limits, refusing the ones beyond them.
func (cl *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := cl.Listener.Accept()
		if err != nil {
			return nil, err
		}
		lc := &limitedConn{Conn: c, cl: cl, addr: peerAddr(c)}
		if cl.admit(lc) {
			return lc, nil
		}
		refuseConn(c)
	}
}

func peerAddr(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return ""
	}
	return host
}

// admit counts lc in, closing an idle connection to make room when it must; false when neither
// there is room nor an idle connection to close.
func (cl *connLimiter) admit(lc *limitedConn) bool {
	cl.mu.Lock()
	var evict *limitedConn
	overAddr := lc.addr != "" && cl.perAddr[lc.addr] >= cl.l.MaxPerAddr
	if overAddr || len(cl.open) >= cl.l.Max {
		for c := range cl.open {
			if c.idle && (!overAddr || c.addr == lc.addr) {
				evict = c
				break
			}
		}
		if evict == nil {
			cl.refusedLocked()
			cl.mu.Unlock()
			return false
		}
		cl.forgetLocked(evict)
	}
	cl.open[lc] = struct{}{}
	if lc.addr != "" {
		cl.perAddr[lc.addr]++
	}
	cl.mu.Unlock()
	if evict != nil {
		_ = evict.Conn.Close() // already counted out; net/http's own Close of it will find it gone
	}
	return true
}

// refusedLocked counts a refusal and says so in the log at most every ten seconds.
func (cl *connLimiter) refusedLocked() {
	cl.refused++
	if time.Since(cl.refusedAt) < 10*time.Second {
		return
	}
	cl.logger.Warn().Int("refused", cl.refused).Int("max_conns", cl.l.Max).Int("max_conns_per_addr", cl.l.MaxPerAddr).
		Msg("connections refused: the connection caps are reached (raise --max-conns or --max-conns-per-addr if these are real clients)")
	cl.refused, cl.refusedAt = 0, time.Now()
}

func (cl *connLimiter) release(c *limitedConn) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.forgetLocked(c)
}

func (cl *connLimiter) forgetLocked(c *limitedConn) {
	if _, ok := cl.open[c]; !ok {
		return
	}
	delete(cl.open, c)
	if c.addr != "" {
		if cl.perAddr[c.addr]--; cl.perAddr[c.addr] <= 0 {
			delete(cl.perAddr, c.addr)
		}
	}
}

// track is http.Server's ConnState hook: an idle keep-alive connection may be closed to admit a new one.
func (cl *connLimiter) track(c net.Conn, state http.ConnState) {
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	lc.idle = state == http.StateIdle
}

// connRefused is the whole answer to a connection beyond the caps. It is written without reading the
// request, so a client may see a reset instead; either way it is told at once.
var connRefused = func() string {
	body := `{"error":"too many connections: the server is at its connection cap; retry in a second"}`
	return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n" +
		"Connection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}()

func refuseConn(c net.Conn) {
	_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_, _ = c.Write([]byte(connRefused))
	_ = c.Close()
}
