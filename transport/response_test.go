package transport

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// serve runs h behind sendWhole on a real server and returns the response and its body.
func serve(t *testing.T, h http.HandlerFunc) (*http.Response, string) {
	t.Helper()
	srv := httptest.NewServer(sendWhole(h))
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestSendWholeGivesAJSONAnswerItsLength(t *testing.T) {
	big := `{"result":"` + strings.Repeat("x", 20000) + `"}` + "\n"
	for _, tc := range []struct {
		name   string
		status int
		header bool // WriteHeader called by the handler
	}{{"200", http.StatusOK, true}, {"implicit 200", http.StatusOK, false}, {"404", http.StatusNotFound, true}} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if tc.header {
					w.WriteHeader(tc.status)
				}
				_, _ = io.WriteString(w, big[:100])
				_, _ = io.WriteString(w, big[100:])
			})
			if resp.StatusCode != tc.status || body != big {
				t.Fatalf("status %d, body of %d bytes", resp.StatusCode, len(body))
			}
			if resp.ContentLength != int64(len(big)) || len(resp.TransferEncoding) != 0 {
				t.Errorf("Content-Length %d, Transfer-Encoding %v: want the length, not chunks", resp.ContentLength, resp.TransferEncoding)
			}
		})
	}
}

func TestSendWholeLetsStreamsAndOtherAnswersThrough(t *testing.T) {
	big := strings.Repeat("y", 20000)
	t.Run("event stream", func(t *testing.T) {
		resp, body := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "data: 1\n\n")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "data: "+big+"\n\n")
		})
		if resp.ContentLength != -1 || body != "data: 1\n\ndata: "+big+"\n\n" {
			t.Errorf("Content-Length %d, body %.40q", resp.ContentLength, body)
		}
	})
	t.Run("JSON that is flushed", func(t *testing.T) {
		resp, body := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"a":`)
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, `"`+big+`"}`)
		})
		if resp.StatusCode != http.StatusOK || body != `{"a":"`+big+`"}` || resp.ContentLength != -1 {
			t.Errorf("status %d, Content-Length %d, body %.40q", resp.StatusCode, resp.ContentLength, body)
		}
	})
	t.Run("202 without a body", func(t *testing.T) {
		resp, body := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
		})
		if resp.StatusCode != http.StatusAccepted || body != "" {
			t.Errorf("status %d, body %q", resp.StatusCode, body)
		}
	})
	t.Run("plain text", func(t *testing.T) {
		resp, body := serve(t, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "nope", http.StatusBadRequest)
		})
		if resp.StatusCode != http.StatusBadRequest || body != "nope\n" {
			t.Errorf("status %d, body %q", resp.StatusCode, body)
		}
	})
	t.Run("nothing written", func(t *testing.T) {
		resp, body := serve(t, func(w http.ResponseWriter, r *http.Request) {})
		if resp.StatusCode != http.StatusOK || body != "" {
			t.Errorf("status %d, body %q", resp.StatusCode, body)
		}
	})
}

func TestSendWholeKeepsTheWriterReachable(t *testing.T) {
	serve(t, func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Error("not a Flusher: mcp-go would not stream")
		}
		if err := http.NewResponseController(w).SetWriteDeadline(deadlineFar); err != nil {
			t.Errorf("ResponseController cannot reach the connection: %v", err)
		}
	})
}

var deadlineFar = time.Now().Add(time.Hour)
