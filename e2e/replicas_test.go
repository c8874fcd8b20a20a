package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const installNginx = "install nginx (Debian: apt-get install -y --no-install-recommends nginx); the test starts its own, on loopback"

// TestTwoReplicasBehindNginx runs what a horizontally scaled deployment runs: two stateless replicas of
// `openrouter-keys-mcp http` sharing one upstream (the emulator, `openrouter-keys-mcp sandbox`),
// behind nginx balancing round-robin with SSE passed through unbuffered. The go-sdk client runs the
// whole tool flow through nginx at the default protocol version and at 2025-06-18, and both replicas
// must have served MCP requests.
func TestTwoReplicasBehindNginx(t *testing.T) {
	t.Parallel()
	nginx := findNginx(t)

	key := "sk-or-v1-" + randomHex(t, 32)
	emu, base := startLogged(t, binary, cleanEnv("OPENROUTER_MANAGEMENT_KEY="+key), "serving the OpenRouter emulator", "base_url",
		"sandbox", "--addr", "127.0.0.1:0")
	// The replicas share a confirmation secret, so that a plan made on one can be applied on the other.
	env := cleanEnv("OPENROUTER_MANAGEMENT_KEY="+key, "OPENROUTER_KEYS_MCP_CONFIRM_SECRET="+randomHex(t, 32))
	replicas := []*httpServer{startHTTP(t, env, "--base-url", base), startHTTP(t, env, "--base-url", base)}

	var upstreams []string
	for _, r := range replicas {
		upstreams = append(upstreams, strings.TrimSuffix(strings.TrimPrefix(r.url, "http://"), "/mcp"))
	}
	proxy := startNginx(t, nginx, upstreams)

	for _, version := range []string{"", "2025-06-18"} {
		t.Run(cmp(version, "default"), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s := goSDKHTTP(t, ctx, "http://"+proxy.addr+"/mcp", version, nil)
			if want := cmp(version, "2026-07-28"); s.protocolVersion() != want {
				t.Errorf("negotiated %q, want %q", s.protocolVersion(), want)
			}
			runFlow(t, ctx, s)
		})
	}

	// An answer that streams (SSE: progress notifications, then the result) comes through nginx as an
	// SSE stream, in order. list_keys with all: true reports progress between pages of 100 keys.
	t.Run("sse", func(t *testing.T) {
		for i := 0; i < 120; i++ {
			createUpstreamKey(t, base, key, fmt.Sprintf("bulk-%d", i))
		}
		resp := post(t, "http://"+proxy.addr+"/mcp", "", nil,
			`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"list_keys","arguments":{"all":true},"_meta":{"progressToken":"through-nginx"}}}`)
		body := readAll(t, resp)
		progress := strings.Index(body, `"method":"notifications/progress"`)
		result := strings.Index(body, `"id":7,"result"`)
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") || progress < 0 || result < progress ||
			!strings.Contains(body, `"progressToken":"through-nginx"`) {
			t.Errorf("list_keys all:true through nginx: %d %s, want an SSE stream with progress before the result:\n%.2000s",
				resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})

	// A cleanup plan made on one replica is applied on the other (they share the confirmation secret),
	// once: the replica that made it knows nothing of the apply, and the keys' states refuse it there.
	t.Run("plan on one, apply on the other", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for i := range 3 {
			createUpstreamKey(t, base, key, fmt.Sprintf("cleanup-%d", i))
		}
		first, second := goSDKHTTP(t, ctx, replicas[0].url, "", nil), goSDKHTTP(t, ctx, replicas[1].url, "", nil)
		var hashes []any
		for _, k := range checkedCaller(t, ctx, first)("list_keys", map[string]any{"name": "cleanup-"})["keys"].([]any) {
			hashes = append(hashes, k.(map[string]any)["hash"])
		}
		plan := checkedCaller(t, ctx, first)("plan_cleanup", map[string]any{"disable": hashes})
		if n := len(plan["actions"].([]any)); n != 3 {
			t.Fatalf("a plan of %d actions, want 3: %v", n, plan)
		}
		args := map[string]any{"plan_token": plan["plan_token"]}
		applied := checkedCaller(t, ctx, second)("apply_plan", args)
		if applied["complete"] != true || applied["plan_id"] != plan["plan_id"] {
			t.Errorf("apply on the other replica: %v", applied)
		}
		for _, s := range []session{first, second} {
			if _, text, isError, err := s.call(ctx, "apply_plan", args); err != nil || !isError {
				t.Errorf("a replayed plan was applied: %v %s", err, text)
			}
		}
	})

	// Both replicas served MCP requests, by their own request logs and by nginx's.
	for i, r := range replicas {
		n := mcpRequests(r.stderr.String())
		t.Logf("replica %d (%s) served %d MCP requests", i+1, upstreams[i], n)
		if n == 0 {
			t.Errorf("replica %d served no MCP request: nginx did not balance over both; its log:\n%s", i+1, proxy.log(t))
		}
		if !strings.Contains(proxy.log(t), "upstream="+upstreams[i]) {
			t.Errorf("nginx's access log names no request sent to %s", upstreams[i])
		}
	}
	for _, out := range []string{emu.stderr.String(), replicas[0].stderr.String(), replicas[1].stderr.String(), proxy.log(t)} {
		if strings.Contains(out, key) || keyShape.MatchString(out) {
			t.Errorf("a key reached a log:\n%s", out)
		}
	}
}

// createUpstreamKey creates a key on the emulator directly, through its OpenRouter API.
func createUpstreamKey(t *testing.T, base, key, name string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/keys", strings.NewReader(`{"name":"`+name+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		t.Fatalf("creating a key on the emulator: %d %s", resp.StatusCode, body)
	}
}

// findNginx finds nginx on PATH or in /usr/sbin, which a non-root PATH often lacks.
func findNginx(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	missingTool(t, "nginx", installNginx)
	return ""
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// mcpRequests counts the request log lines of POSTs to /mcp in a replica's stderr.
func mcpRequests(stderr string) int {
	n := 0
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Message    string `json:"message"`
			Path       string `json:"path"`
			HTTPMethod string `json:"http_method"`
			Status     int    `json:"status"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Message == "http request" && line.Path == "/mcp" &&
			line.HTTPMethod == http.MethodPost && line.Status < 300 {
			n++
		}
	}
	return n
}

type nginxProxy struct {
	addr string // 127.0.0.1:PORT
	dir  string
}

func (p nginxProxy) log(t *testing.T) string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(p.dir, "access.log"))
	return string(b)
}

// nginxConf is a foreground nginx, all its files in dir, balancing /mcp over upstreams round-robin.
// MCP answers may be SSE streams: nginx must pass them on as they come (no buffering, HTTP/1.1 to the
// replicas). The replicas listen on loopback and accept only loopback Host headers; $host is the
// 127.0.0.1 the client connected to.
const nginxConf = `daemon off;
master_process off;
worker_processes 1;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log notice;
events { worker_connections 256; }
http {
    log_format upstreams '$request_method $request_uri $status upstream=$upstream_addr';
    access_log {{dir}}/access.log upstreams;
    client_body_temp_path {{dir}}/client_body;
    proxy_temp_path {{dir}}/proxy;
    fastcgi_temp_path {{dir}}/fastcgi;
    uwsgi_temp_path {{dir}}/uwsgi;
    scgi_temp_path {{dir}}/scgi;
    upstream replicas {
{{servers}}
    }
    server {
        listen {{listen}};
        location / {
            proxy_pass http://replicas;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_buffering off;
            proxy_cache off;
            proxy_read_timeout 120s;
        }
    }
}
`

// startNginx starts nginx on a free loopback port in front of upstreams and waits until it proxies
// /healthz. It is stopped when the test ends.
func startNginx(t *testing.T, nginx string, upstreams []string) nginxProxy {
	t.Helper()
	var servers strings.Builder
	for _, u := range upstreams {
		fmt.Fprintf(&servers, "        server %s;\n", u)
	}
	var lastErr string
	for attempt := 0; attempt < 3; attempt++ { // the free port may be taken before nginx binds it
		dir := t.TempDir()
		addr := freeLoopbackAddr(t)
		conf := strings.NewReplacer("{{dir}}", dir, "{{servers}}", servers.String(), "{{listen}}", addr).Replace(nginxConf)
		if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		if waitHealthy(addr, exited) {
			t.Cleanup(stop)
			return nginxProxy{addr: addr, dir: dir}
		}
		stop()
		errLog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		lastErr = out.String() + string(errLog)
		if !strings.Contains(lastErr, "Address already in use") {
			break
		}
	}
	t.Fatalf("nginx did not start:\n%s", lastErr)
	return nginxProxy{}
}

// waitHealthy polls /healthz through the proxy for up to 20 s, giving up early if nginx exits.
func waitHealthy(addr string, exited <-chan struct{}) bool {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if resp, err := client.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}
