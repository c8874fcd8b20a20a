package tools

import (
	"github.com/mark3labs/mcp-go/server"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// builders lists every tool, in the order tools/list shows them.
var builders = []func(*openrouter.Client) (server.ServerTool, error){
	listKeys.build,
	getKey.build,
	createKey.build,
	updateKey.build,
	deleteKey.build,
	currentKey.build,
}

// All returns every tool, bound to c, with its schemas derived and resolved. An error here is a
// programming error in a tool declaration; the server must not start with it.
func All(c *openrouter.Client) ([]server.ServerTool, error) {
	out := make([]server.ServerTool, 0, len(builders))
	for _, build := range builders {
		t, err := build(c)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}
