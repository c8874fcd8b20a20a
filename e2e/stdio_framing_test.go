package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// The three stdio faults that mcp-go v1.6.0 fixed, each checked through the binary with raw lines, as
// a host writes them: the last message without a trailing newline, calls still queued when input
// ends, and server-to-client messages (confirmation questions, progress) written between responses.

const rawInitialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"elicitation":{}},"clientInfo":{"name":"framing","version":"1"}}}`

// rawMessage is what a test needs of one line of stdout.
type rawMessage struct {
	ID     any             `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

// readMessages reads stdout line by line until stdout ends, handing each line, parsed as exactly one
// JSON-RPC message, to each. A line that is not exactly one message fails the test: that is what an
// interleaved write looks like.
func readMessages(t *testing.T, stdout io.Reader, each func(rawMessage)) {
	t.Helper()
	r := bufio.NewReaderSize(stdout, 1<<16)
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			if !strings.HasSuffix(line, "\n") {
				t.Errorf("the last message on stdout has no newline: %.200q", line)
			}
			var msg rawMessage
			dec := json.NewDecoder(strings.NewReader(line))
			if derr := dec.Decode(&msg); derr != nil {
				t.Fatalf("stdout line is not one JSON-RPC message (%v): %.300q", derr, line)
			}
			if dec.More() {
				t.Fatalf("stdout line holds more than one message: %.300q", line)
			}
			each(msg)
		}
		if err != nil {
			return
		}
	}
}

// idOf is a message's numeric id, or -1.
func idOf(m rawMessage) int {
	if f, ok := m.ID.(float64); ok {
		return int(f)
	}
	return -1
}

func TestStdioAnswersALastLineWithoutNewline(t *testing.T) {
	r := startRaw(t, cleanEnv(), "--sandbox")
	r.send(t, rawInitialize, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	if _, err := io.WriteString(r.stdin, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`); err != nil {
		t.Fatal(err)
	}
	_ = r.stdin.Close()

	answered := map[int]bool{}
	for r.stdout.Scan() {
		var msg rawMessage
		if err := json.Unmarshal(r.stdout.Bytes(), &msg); err != nil {
			t.Fatalf("stdout line is not JSON: %.200q", r.stdout.Text())
		}
		answered[idOf(msg)] = msg.Result != nil
	}
	if !answered[2] {
		t.Fatalf("tools/list, sent as the last line without a newline, got no result (answers %v); stderr:\n%s", answered, r.stderr)
	}
	if err := r.wait(t); err != nil {
		t.Errorf("exit after stdin EOF: %v", err)
	}
}

func TestStdioAnswersCallsQueuedWhenInputEnds(t *testing.T) {
	r := startRaw(t, cleanEnv(), "--sandbox")
	lines := []string{rawInitialize, `{"jsonrpc":"2.0","method":"notifications/initialized"}`}
	const calls = 40
	for i := 0; i < calls; i++ {
		tool := []string{"list_keys", "audit_keys", "get_credits", "list_workspaces"}[i%4]
		lines = append(lines, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":{}}}`, 100+i, tool))
	}
	// All at once and then EOF: the calls are still queued or running when the input ends.
	if _, err := io.WriteString(r.stdin, strings.Join(lines, "\n")+"\n"); err != nil {
		t.Fatal(err)
	}
	_ = r.stdin.Close()

	missing := map[int]bool{}
	for i := 0; i < calls; i++ {
		missing[100+i] = true
	}
	readMessages(t, r.out, func(m rawMessage) {
		if m.Result != nil || m.Error != nil {
			delete(missing, idOf(m))
		}
	})
	if len(missing) > 0 {
		t.Fatalf("%d of %d calls queued at the end of input got no answer; stderr:\n%s", len(missing), calls, r.stderr)
	}
	if err := r.wait(t); err != nil {
		t.Errorf("exit after stdin EOF: %v", err)
	}
}

func TestStdioNeverInterleavesServerMessagesWithResponses(t *testing.T) {
	r := startRaw(t, cleanEnv(), "--sandbox")
	out := r.out
	msgs := make(chan rawMessage, 64)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(msgs)
		readMessages(t, out, func(m rawMessage) { msgs <- m })
	}()
	next := func() rawMessage {
		t.Helper()
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatalf("stdout ended; stderr:\n%s", r.stderr)
			}
			return m
		case <-time.After(30 * time.Second):
			t.Fatalf("no message for 30 s; stderr:\n%s", r.stderr)
		}
		return rawMessage{}
	}

	r.send(t, rawInitialize, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	if m := next(); idOf(m) != 1 || m.Result == nil {
		t.Fatalf("initialize: %+v", m)
	}
	// Keys to ask about: each delete_key below makes the server send a confirmation question.
	const keys = 8
	for i := 0; i < keys; i++ {
		r.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"create_key","arguments":{"name":"framing %d"}}}`, 10+i, i))
	}
	var hashes []string
	for len(hashes) < keys {
		m := next()
		var res struct {
			StructuredContent struct {
				Key struct {
					Hash string `json:"hash"`
				} `json:"key"`
			} `json:"structuredContent"`
		}
		if err := json.Unmarshal(m.Result, &res); err != nil || res.StructuredContent.Key.Hash == "" {
			t.Fatalf("create_key: %s %s", m.Result, m.Error)
		}
		hashes = append(hashes, res.StructuredContent.Key.Hash)
	}

	// One burst: questions (delete_key), progress notifications (audit_keys, list_keys all) and large
	// responses (list_keys) all written at once by concurrent handlers.
	pending := map[int]bool{}
	var burst []string
	for round := 0; round < 4; round++ {
		for i, h := range hashes {
			id := 1000 + round*100 + i
			pending[id] = true
			burst = append(burst, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"delete_key","arguments":{"hash":%q}}}`, id, h))
		}
		for i := 0; i < 4; i++ {
			id := 1050 + round*100 + i
			pending[id] = true
			call := []string{`"audit_keys","arguments":{}`, `"list_keys","arguments":{"all":true}`}[i%2]
			burst = append(burst, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%s,"_meta":{"progressToken":"p%d"}}}`, id, call, id))
		}
	}
	r.send(t, strings.Join(burst, "\n"))

	var questions, progress int
	for len(pending) > 0 {
		m := next()
		switch {
		case m.Method == "elicitation/create":
			questions++
			r.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{"action":"decline"}}`, mustJSON(t, m.ID)))
		case m.Method == "notifications/progress":
			progress++
		case m.Method == "":
			delete(pending, idOf(m))
		}
	}
	if questions == 0 || progress == 0 {
		t.Errorf("the burst sent %d questions and %d progress notifications; the test needs both to mean anything", questions, progress)
	}
	_ = r.stdin.Close()
	<-readDone
	if err := r.wait(t); err != nil {
		t.Errorf("exit after stdin EOF: %v", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
