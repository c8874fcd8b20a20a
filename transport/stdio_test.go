package transport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/orkeys/openrouter-keys-mcp/transport"
)

// answers serves in over stdio and returns the answers by id ("null" for an answer without one).
func answers(t *testing.T, in io.Reader) (map[string]string, string) {
	t.Helper()
	var out, log bytes.Buffer
	if err := transport.ServeStdio(context.Background(), newMCPServer(nil), in, &out, zerolog.New(&log)); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(out.String()), "\n") {
		var msg struct {
			ID json.RawMessage `json:"id"`
		}
		if err := json.Unmarshal([]byte(line), &msg); err != nil {
			t.Fatalf("stdout holds a line that is not JSON: %.200q", line)
		}
		got[string(msg.ID)] = line
	}
	return got, log.String()
}

// padded is a tools/list request with id, of exactly n bytes before its newline.
func padded(id string, n int) string {
	head, tail := `{"jsonrpc":"2.0","id":`+id+`,"method":"tools/list","params":{"pad":"`, `"}}`
	return head + strings.Repeat("x", n-len(head)-len(tail)) + tail + "\n"
}

// TestStdioLineCap: a message longer than MaxLineBytes is never read whole: it is answered as a
// parse error, even when it is valid JSON, and the server answers the next one.
func TestStdioLineCap(t *testing.T) {
	for _, n := range []int{transport.MaxLineBytes, transport.MaxLineBytes + 1, 3 * transport.MaxLineBytes} {
		in := strings.NewReader(padded("1", n) + `{"jsonrpc":"2.0","id":2,"method":"tools/list"}` + "\n")
		got, log := answers(t, in)
		over := n > transport.MaxLineBytes
		if strings.Contains(got["1"], `"tools"`) == over || strings.Contains(got["null"], "-32700") != over {
			t.Errorf("a valid message of %d bytes: %.200q / %.200q", n, got["1"], got["null"])
		}
		if !strings.Contains(got["2"], `"tools"`) {
			t.Errorf("the message after one of %d bytes: %.200q", n, got["2"])
		}
		if strings.Contains(log, "longer than the cap") != over {
			t.Errorf("the log after a message of %d bytes: %s", n, log)
		}
	}
}
