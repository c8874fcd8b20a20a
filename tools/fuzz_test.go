package tools_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
	"github.com/orkeys/openrouter-keys-mcp/openrouter/sandbox"
	"github.com/orkeys/openrouter-keys-mcp/tools"
)

// fuzzSeedDir holds the seeds of FuzzToolArguments: files named TOOL.CASE.json whose content is the
// arguments of one call.
const fuzzSeedDir = "../testdata/fuzz/tool-arguments"

// fuzzKeyShape finds key-shaped strings (whole or cut short) the way the server's redaction does.
var fuzzKeyShape = regexp.MustCompile(`sk-or-[A-Za-z0-9]+-[A-Za-z0-9]{8,}`)

// fuzzManagementKey is the management key of every sandbox the fuzz rig makes.
const fuzzManagementKey = "sk-or-v1-f0220000000000000000000000000000000000000000000000000000000000f0"

// fuzzRig serves the tools against an in-memory sandbox, without sockets, and starts a new sandbox
// when the keys the fuzzer made pile up.
type fuzzRig struct {
	mu    sync.Mutex
	sb    *sandbox.Sandbox
	tools []server.ServerTool
}

func (r *fuzzRig) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	sb := r.sb
	r.mu.Unlock()
	rec := httptest.NewRecorder()
	sb.ServeHTTP(rec, req)
	return rec.Result(), nil
}

func (r *fuzzRig) recycle() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sb == nil || r.sb.KeyCount(fuzzManagementKey) > 300 {
		r.sb = sandbox.New(sandbox.Options{ManagementKey: fuzzManagementKey})
	}
}

func newFuzzRig(f *testing.F) *fuzzRig {
	r := &fuzzRig{}
	r.recycle()
	c, err := openrouter.New(openrouter.Options{BaseURL: "http://sandbox.invalid/api/v1", APIKey: fuzzManagementKey,
		HTTPClient: &http.Client{Transport: r}})
	if err != nil {
		f.Fatal(err)
	}
	r.tools, err = tools.All(c, tools.Options{})
	if err != nil {
		f.Fatal(err)
	}
	return r
}

// FuzzToolArguments calls the tools' handlers with arbitrary JSON as arguments. Whatever the input:
// no panic, no protocol error (a handler error), a result that is either an error for the model or
// carries structuredContent, and no result that repeats a key-shaped string from the input.
func FuzzToolArguments(f *testing.F) {
	names := tools.Names()
	index := map[string]uint8{}
	for i, n := range names {
		index[n] = uint8(i)
	}
	seeds, err := filepath.Glob(filepath.Join(fuzzSeedDir, "*.json"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds in %s: %v", fuzzSeedDir, err)
	}
	for _, path := range seeds {
		tool, _, _ := strings.Cut(filepath.Base(path), ".")
		i, ok := index[tool]
		if !ok {
			f.Fatalf("seed %s: no tool %q", path, tool)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(i, b)
	}
	rig := newFuzzRig(f)

	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		var args any
		if json.Unmarshal(raw, &args) != nil {
			return // not JSON: the protocol layer refuses it before any tool sees it
		}
		rig.recycle()
		tool := rig.tools[int(which)%len(rig.tools)]
		req := mcp.CallToolRequest{}
		req.Params.Name = tool.Tool.Name
		req.Params.Arguments = args
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := tool.Handler(ctx, req)
		if err != nil {
			t.Fatalf("%s: protocol error %v", tool.Tool.Name, err)
		}
		if res == nil {
			t.Fatalf("%s: no result", tool.Tool.Name)
		}
		if !res.IsError && res.StructuredContent == nil {
			t.Errorf("%s: success without structuredContent", tool.Tool.Name)
		}
		out, err := json.Marshal(res)
		if err != nil {
			t.Fatalf("%s: the result does not encode: %v", tool.Tool.Name, err)
		}
		for _, s := range fuzzStrings(args) {
			for _, secret := range fuzzKeyShape.FindAllString(s, -1) {
				if strings.Contains(string(out), secret) {
					t.Errorf("%s: the result repeats the key-shaped %q from the arguments: %s", tool.Tool.Name, secret, out)
				}
			}
		}
		if res.IsError && openrouter.LooksLikeSecret(string(out)) {
			t.Errorf("%s: an error result holds a key-shaped string: %s", tool.Tool.Name, out)
		}
	})
}

// fuzzStrings returns every string in a decoded JSON value, object keys included.
func fuzzStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, fuzzStrings(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for k, e := range v {
			out = append(out, k)
			out = append(out, fuzzStrings(e)...)
		}
		return out
	}
	return nil
}
