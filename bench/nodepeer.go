package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// NodePeer is bench/nodepeer/server.mjs, ready to run: list_keys and get_key on the official MCP
// TypeScript SDK, against the same upstream and with results of the same shape as openrouter-keys-mcp's.
// Issue 18's goals are set against it.
type NodePeer struct {
	Node    string // the node binary
	Script  string // server.mjs, beside a link to its installed packages
	Version string // node's version ("v20.20.2")
	SDK     string // the version of @modelcontextprotocol/sdk that package.json pins
}

// PeerName names the Node peer in the report.
const PeerName = "Node peer"

// FindNodePeer readies the Node peer in dir: node (20 or newer) and npm from PATH, and the peer's
// packages installed once from bench/nodepeer's lock file into the tool cache shared with e2e. The
// error says why the peer cannot run.
func FindNodePeer(root, dir string) (*NodePeer, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("node is not on PATH (install Node.js >= 20 with npm)")
	}
	major, err := NodeMajor(node)
	if err != nil {
		return nil, err
	}
	if major < 20 {
		return nil, fmt.Errorf("node %s is Node.js %d; the peer needs 20 or newer", node, major)
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return nil, fmt.Errorf("npm is not on PATH (install it beside Node.js)")
	}
	src := filepath.Join(root, "bench", "nodepeer")
	pkg, err := os.ReadFile(filepath.Join(src, "package.json"))
	if err != nil {
		return nil, err
	}
	var manifest struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(pkg, &manifest); err != nil {
		return nil, fmt.Errorf("bench/nodepeer/package.json: %w", err)
	}
	peerDir := filepath.Join(dir, "nodepeer")
	if err := os.MkdirAll(peerDir, 0o755); err != nil {
		return nil, err
	}
	script, err := NPMScript(src, "nodepeer", "server.mjs", peerDir)
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", node, err)
	}
	return &NodePeer{Node: node, Script: script, Version: strings.TrimSpace(string(out)),
		SDK: manifest.Dependencies["@modelcontextprotocol/sdk"]}, nil
}

// stdioArgs are the arguments that run the peer over stdio against up.
func (p *NodePeer) stdioArgs(up *Upstream) []string {
	return []string{p.Script, "stdio", "--base-url", up.BaseURL}
}

// StartHTTP starts the peer over stateless streamable HTTP on a free loopback port, against up.
func (p *NodePeer) StartHTTP(up *Upstream, dir string) (*HTTPServer, error) {
	cmd := exec.Command(p.Node, p.Script, "http", "--base-url", up.BaseURL, "--addr", "127.0.0.1:0")
	return startListening(cmd, dir, []string{"OPENROUTER_MANAGEMENT_KEY=" + up.Key})
}
