package transport

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// sendWhole holds back a JSON answer until the handler has written all of it, then sends it with its
// Content-Length. mcp-go writes a reply in one piece at the end anyway; without a length, net/http
// sends it chunked, which costs a write more per reply (three instead of two for a page of keys) and
// makes the client parse chunks. Anything that is not a JSON answer (an event stream, an empty 202)
// and any handler that flushes pass straight through, as they would without this.
func sendWhole(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jw := &wholeWriter{ResponseWriter: w}
		next.ServeHTTP(jw, r)
		jw.finish() // not deferred: after a panic, net/http drops the connection and nothing is sent
	})
}

// replyBuffers keeps the buffers of answers, which are mostly alike in size, between requests.
var replyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledReply bounds the buffers kept: a rare huge answer is not held on to.
const maxPooledReply = 256 << 10

type wholeWriter struct {
	http.ResponseWriter
	status  int           // held back until finish; 0 before WriteHeader
	buf     *bytes.Buffer // the answer so far, while held back
	through bool          // passing straight through
}

func (w *wholeWriter) WriteHeader(code int) {
	if w.through || w.status != 0 {
		w.ResponseWriter.WriteHeader(code) // as without this wrapper (net/http logs a superfluous call)
		return
	}
	if !isJSON(w.Header().Get("Content-Type")) || w.Header().Get("Content-Length") != "" || !bodyAllowed(code) {
		w.through = true
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.status = code
	w.buf = replyBuffers.Get().(*bytes.Buffer)
	w.buf.Reset()
}

func (w *wholeWriter) Write(p []byte) (int, error) {
	if !w.through && w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.through {
		return w.ResponseWriter.Write(p)
	}
	return w.buf.Write(p)
}

// Flush sends what is held back and passes everything after it straight through: a handler that
// flushes is streaming.
func (w *wholeWriter) Flush() {
	w.release(false)
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *wholeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish sends a held-back answer whole, with its length.
func (w *wholeWriter) finish() { w.release(true) }

func (w *wholeWriter) release(whole bool) {
	if w.through || w.status == 0 {
		w.through = true
		return
	}
	w.through = true
	if whole {
		w.Header().Set("Content-Length", strconv.Itoa(w.buf.Len()))
	}
	w.ResponseWriter.WriteHeader(w.status)
	_, _ = w.ResponseWriter.Write(w.buf.Bytes())
	if w.buf.Cap() <= maxPooledReply {
		replyBuffers.Put(w.buf)
	}
	w.buf = nil
}

// isJSON reports whether a Content-Type is application/json, with or without parameters.
func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}

// bodyAllowed reports whether a response with this status may have a body (RFC 9110).
func bodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}
