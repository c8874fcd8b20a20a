package transport_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	mcptransport "github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/orkeys/openrouter-keys-mcp/transport"
)

// headerTransport adds the bearer token to every request of the go-sdk client.
type headerTransport struct{ auth string }

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", h.auth)
	return http.DefaultTransport.RoundTrip(r)
}

// TestRealClients runs mcp-go's and the go-sdk's clients through the front door, in both modes and
// both protocol eras: the limits must not get in the way of what real clients do (a stateful legacy
// go-sdk client, for one, opens a GET stream and ends its session with DELETE).
func TestRealClients(t *testing.T) {
	for _, stateful := range []bool{false, true} {
		fd := start(t, nil, func(o *transport.HTTPOptions) { o.Stateful = stateful })
		for _, version := range []string{"", legacy} {
			name := map[bool]string{false: "stateless", true: "stateful"}[stateful] + "/" + version
			t.Run(name+"/mcp-go", func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				tr, err := mcptransport.NewStreamableHTTP(fd.url+"/mcp",
					mcptransport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + goodToken}))
				if err != nil {
					t.Fatal(err)
				}
				var opts []mcpclient.ClientOption
				if version != "" {
					opts = append(opts, mcpclient.WithProtocolVersion(version))
				}
				c := mcpclient.NewClient(tr, opts...)
				if err := c.Start(ctx); err != nil {
					t.Fatal(err)
				}
				init := mcp.InitializeRequest{}
				init.Params.ProtocolVersion = version
				init.Params.ClientInfo = mcp.Implementation{Name: "mcp-go", Version: "1"}
				if _, err := c.Initialize(ctx, init); err != nil {
					t.Fatal("initialize:", err)
				}
				list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
				if err != nil || len(list.Tools) != 3 {
					t.Fatalf("tools/list: %v %v", list, err)
				}
				call := mcp.CallToolRequest{}
				call.Params.Name = "echo"
				if res, err := c.CallTool(ctx, call); err != nil || res.IsError {
					t.Fatalf("tools/call: %v %v", res, err)
				}
				if err := c.Close(); err != nil {
					t.Error("close:", err)
				}
			})
			t.Run(name+"/go-sdk", func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				hc := &http.Client{Transport: headerTransport{auth: "Bearer " + goodToken}}
				c := sdk.NewClient(&sdk.Implementation{Name: "go-sdk", Version: "1"}, nil)
				s, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: fd.url + "/mcp", HTTPClient: hc},
					&sdk.ClientSessionOptions{ProtocolVersion: version})
				if err != nil {
					t.Fatal("connect:", err)
				}
				list, err := s.ListTools(ctx, nil)
				if err != nil || len(list.Tools) != 3 {
					t.Fatalf("tools/list: %v %v", list, err)
				}
				if res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "echo"}); err != nil || res.IsError {
					t.Fatalf("tools/call: %v %v", res, err)
				}
				if err := s.Close(); err != nil {
					t.Error("close:", err)
				}
			})
		}
		// Stateless, the legacy go-sdk client's GET gets its 405, as the specification allows.
		// mcp-go's client sends its closing DELETE without the headers it was given (a 401, in both
		// modes; the session then ends when idle).
		for line := range strings.SplitSeq(fd.log.String(), "\n") {
			if stateful && strings.Contains(line, `"status":4`) && !strings.Contains(line, `"http_method":"DELETE","path":"/mcp","rpc_method":"","tool":"","status":401`) {
				t.Errorf("a real client was refused: %s", line)
			}
		}
	}
}
