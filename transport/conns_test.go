package transport_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/transport"
)

// remoteAs is a listener whose connections say they come from addr, so that the per-address cap,
// which loopback peers are exempt from, can be tried on loopback.
type remoteAs struct {
	net.Listener
	addr net.Addr
}

func (l remoteAs) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return addrConn{Conn: c, addr: l.addr}, nil
}

type addrConn struct {
	net.Conn
	addr net.Addr
}

func (c addrConn) RemoteAddr() net.Addr { return c.addr }

// serveLimited serves the front door behind LimitConns(limits); remote, when set, is the address
// every connection appears to come from.
func serveLimited(t *testing.T, limits transport.ConnLimits, remote net.Addr) string {
	t.Helper()
	h, shutdown := transport.NewHTTPHandler(newMCPServer(nil), transport.HTTPOptions{Auth: tokenAuth,
		Loopback: true, ToolNames: toolNames, IsSecret: isSecret, Logger: zerolog.Nop()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if remote != nil {
		ln = remoteAs{Listener: ln, addr: remote}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- transport.ServeHTTP(ctx, transport.LimitConns(ln, limits, zerolog.Nop()), h, zerolog.Nop(), shutdown)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return addr
}

// stallInHeaders opens a connection that sends the start of a request and no more.
func stallInHeaders(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: "+strings.Repeat("x", 1000)); err != nil {
		t.Fatal(err)
	}
	return c
}

// healthz sends GET /healthz on a new connection of client and returns the status (0 when the
// connection was refused without an answer it could read).
func healthz(client *http.Client, addr string) int {
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func newClient(keepAlive bool) *http.Client {
	return &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 100}}
}

func TestConnectionCap(t *testing.T) {
	addr := serveLimited(t, transport.ConnLimits{Max: 4}, nil)
	for range 4 {
		stallInHeaders(t, addr)
	}
	time.Sleep(50 * time.Millisecond) // let the server accept them
	if status := healthz(newClient(false), addr); status == http.StatusOK {
		t.Errorf("a fifth connection while four stall in their headers: %d", status)
	}
}

func TestConnectionCapPerAddress(t *testing.T) {
	addr := serveLimited(t, transport.ConnLimits{Max: 100, MaxPerAddr: 3}, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 4000})
	for range 3 {
		stallInHeaders(t, addr)
	}
	time.Sleep(50 * time.Millisecond)
	if status := healthz(newClient(false), addr); status == http.StatusOK {
		t.Errorf("a fourth connection from one address while three stall: %d", status)
	}
	// Loopback peers share one address whoever they are, and are not capped by it.
	addr = serveLimited(t, transport.ConnLimits{Max: 100, MaxPerAddr: 3}, nil)
	for range 3 {
		stallInHeaders(t, addr)
	}
	time.Sleep(50 * time.Millisecond)
	if status := healthz(newClient(false), addr); status != http.StatusOK {
		t.Errorf("a fourth loopback connection: %d", status)
	}
}

func TestIdleConnectionsMakeRoom(t *testing.T) {
	addr := serveLimited(t, transport.ConnLimits{Max: 2}, nil)
	keep := newClient(true)
	for range 2 { // two kept-alive connections, idle once answered
		if status := healthz(&http.Client{Transport: &http.Transport{}}, addr); status != http.StatusOK {
			t.Fatalf("healthz: %d", status)
		}
	}
	if status := healthz(keep, addr); status != http.StatusOK {
		t.Errorf("a connection while the others are idle: %d", status)
	}
}

func TestLargeHeadersRefused(t *testing.T) {
	addr, _ := serveReal(t, nil, nil)
	for _, pad := range []int{1 << 10, 24 << 10} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: "+strings.Repeat("x", pad)+"\r\n\r\n")
		status := 0 // a reset before the answer is a refusal too
		if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
			status = resp.StatusCode
		}
		if refused := status != http.StatusOK; refused != (pad > 16<<10) {
			t.Errorf("a %d-byte header: %d", pad, status)
		}
	}
}
