//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: what a person's shell gives the binary as stdin.
func openPTY(t *testing.T) (terminal, input *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pts.Close() })
	return ptmx, pts
}

// lockedBuffer is written by the command while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Started by hand on a terminal, the stdio server says on stderr that it waits for an MCP client and
// what to try instead, and Ctrl-D ends it; given a pipe, as hosts give it, it says nothing of the kind.
func TestStdioOnATerminalSaysWhatItWaitsFor(t *testing.T) {
	terminal, input := openPTY(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--sandbox"}, input, io.Discard, &stderr, func(string) string { return "" })
	}()
	for !strings.Contains(stderr.String(), "Ctrl-C stops it.") {
		select {
		case code := <-done:
			t.Fatalf("ended (exit %d) before saying it waits:\n%s", code, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	for _, want := range []string{"waiting for an MCP client", name + " call list_keys --sandbox", name + " --help", "absolute path"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the hint lacks %q:\n%s", want, stderr.String())
		}
	}
	if _, err := terminal.Write([]byte{4}); err != nil { // Ctrl-D: the end of input, on a terminal
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after Ctrl-D:\n%s", code, stderr.String())
		}
	case <-ctx.Done():
		t.Fatal("Ctrl-D did not end it")
	}

	if code, _, stderr := runMain(t, nil, "--sandbox"); code != 0 || strings.Contains(stderr, "waiting for an MCP client") {
		t.Errorf("not a terminal: exit %d, and the hint was said:\n%s", code, stderr)
	}
}
