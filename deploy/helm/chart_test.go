// Package helm holds the checks of the Helm chart in openrouter-keys-mcp/: it lints, and what it
// renders decodes strictly into the Kubernetes API's own types, with default values and with every
// optional part on. There is no Go code to ship here.
package helm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const chart = "openrouter-keys-mcp"

// kubeVersion is the oldest Kubernetes the chart supports (Chart.yaml): helm renders for v1.20
// unless told.
const kubeVersion = "1.30.0"

// helmBinary returns helm, built by .ci/helm when it is not there yet (CI runs .ci/helm first, so it
// never skips); the test skips only when helm cannot be had at all.
func helmBinary(t *testing.T) string {
	t.Helper()
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	out, err := exec.Command("bash", filepath.Join("..", "..", ".ci", "helm")).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Skipf("helm cannot be installed here (.ci/helm: %v: %s); CI installs it, or set HELM to a helm binary", err, ee.Stderr)
		}
		t.Skipf("helm cannot be installed here (.ci/helm: %v); set HELM to a helm binary", err)
	}
	return strings.TrimSpace(string(out))
}

// serverMode is the least a server-mode install needs: Secrets for the management key and the
// access token.
var serverMode = []string{"managementKey.existingSecret=orkm-keys", "accessToken.existingSecret=orkm-keys"}

// everything turns every optional part on.
var everything = append(append([]string{}, serverMode...),
	"confirmSecret.existingSecret=orkm-keys",
	"metrics.enabled=true", "metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.release=prom",
	"ingress.enabled=true", "ingress.className=nginx", "ingress.tls[0].secretName=mcp-tls", "ingress.tls[0].hosts[0]=mcp.example.com",
	"ingress.annotations.nginx\\.ingress\\.kubernetes\\.io/proxy-body-size=1m",
	"networkPolicy.ingressFrom[0].namespaceSelector.matchLabels.team=agents",
	"networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=monitoring",
	"traces.otlpEndpoint=http://otel-collector.observability:4318",
	"traces.collectorTo[0].namespaceSelector.matchLabels.team=observability",
	"ratePerCaller=10", "burstPerCaller=30", "extraArgs[0]=--read-only",
	"extraEnv[0].name=OPENROUTER_KEYS_MCP_MANAGED_PREFIX", "extraEnv[0].value=agents-",
	"podAnnotations.team=agents", "podLabels.tier=mcp", "imagePullSecrets[0].name=ghcr",
	"nodeSelector.kubernetes\\.io/os=linux", "tolerations[0].key=dedicated", "tolerations[0].operator=Exists",
	"topologySpreadConstraints[0].maxSkew=1", "topologySpreadConstraints[0].topologyKey=kubernetes.io/hostname",
	"topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway",
	"topologySpreadConstraints[0].labelSelector.matchLabels.app\\.kubernetes\\.io/name=openrouter-keys-mcp",
	"autoscaling.enabled=false", "replicaCount=4")

// withOIDC is a server-mode install where people sign in with the identity provider (no access token),
// its settings in values; fromSecret takes them from a Secret instead.
var (
	withOIDC = []string{"managementKey.existingSecret=orkm-keys", "oidc.enabled=true",
		"oidc.issuer=https://id.example.com/realms/team", "oidc.resourceURL=https://keys.example.com/mcp", `oidc.scopes=keys:read\,keys:write\,keys:admin`}
	oidcFromSecret = []string{"managementKey.existingSecret=orkm-keys", "oidc.enabled=true", "oidc.existingSecret=orkm-oidc"}
)

func render(t *testing.T, helm string, set []string) []byte {
	t.Helper()
	args := []string{"template", "orkm", chart, "--namespace", "agents", "--kube-version", kubeVersion}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	cmd := exec.Command(helm, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", set, err, stderr.String())
	}
	return out
}

func TestChartLints(t *testing.T) {
	helm := helmBinary(t)
	for _, set := range [][]string{serverMode, everything, {"keySource=caller"}, withOIDC, oidcFromSecret} {
		args := []string{"lint", "--strict", "--kube-version", kubeVersion, chart}
		for _, s := range set {
			args = append(args, "--set", s)
		}
		if out, err := exec.Command(helm, args...).CombinedOutput(); err != nil {
			t.Errorf("helm lint %v: %v\n%s", set, err, out)
		}
	}
}

// TestChartRendersStrictly decodes every object the chart renders into its API type, refusing
// unknown fields, so that a misspelt or misplaced field fails here rather than being dropped by
// the API server.
func TestChartRendersStrictly(t *testing.T) {
	helm := helmBinary(t)
	for name, tc := range map[string]struct {
		set   []string
		kinds []string
	}{
		"server mode, default values": {serverMode, []string{"Deployment", "HorizontalPodAutoscaler", "NetworkPolicy",
			"PodDisruptionBudget", "Service", "ServiceAccount"}},
		"caller mode, default values": {[]string{"keySource=caller"}, []string{"Deployment", "HorizontalPodAutoscaler",
			"NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount"}},
		"every optional part on": {everything, []string{"Deployment", "Ingress", "NetworkPolicy", "PodDisruptionBudget",
			"Service", "ServiceAccount", "ServiceMonitor"}},
		"sign-in with an identity provider": {withOIDC, []string{"Deployment", "HorizontalPodAutoscaler", "NetworkPolicy",
			"PodDisruptionBudget", "Service", "ServiceAccount"}},
		"sign-in settings from a Secret": {oidcFromSecret, []string{"Deployment", "HorizontalPodAutoscaler", "NetworkPolicy",
			"PodDisruptionBudget", "Service", "ServiceAccount"}},
	} {
		t.Run(name, func(t *testing.T) {
			objs := decodeAll(t, render(t, helm, tc.set))
			var kinds []string
			for kind := range objs {
				kinds = append(kinds, kind)
			}
			if got, want := strings.Join(slices.Sorted(slices.Values(kinds)), ","), strings.Join(tc.kinds, ","); got != want {
				t.Errorf("rendered kinds %s, want %s", got, want)
			}
			checkDeployment(t, objs["Deployment"].(*appsv1.Deployment), tc.set)
			checkTraces(t, objs["Deployment"].(*appsv1.Deployment), objs["NetworkPolicy"].(*networkingv1.NetworkPolicy), tc.set)
			checkSignIn(t, objs["Deployment"].(*appsv1.Deployment), tc.set)
		})
	}
}

// TestChartRefusesWhatCannotRun: values that would give a pod that cannot serve fail at render time.
func TestChartRefusesWhatCannotRun(t *testing.T) {
	helm := helmBinary(t)
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{nil, "needs the management key"},
		{[]string{"managementKey.existingSecret=k"}, "needs an access token"},
		{[]string{"keySource=caller", "oidc.enabled=true"}, "oidc.enabled lets people use the server's key"},
		{append([]string{"accessToken.existingSecret=k"}, withOIDC...), "two ways to let callers in"},
		{[]string{"managementKey.existingSecret=k", "oidc.enabled=true", "oidc.issuer=https://id.example.com"}, "needs oidc.issuer and oidc.resourceURL"},
		{[]string{"keySource=caller", "terminationGracePeriodSeconds=10"}, "terminationGracePeriodSeconds must cover"},
		{[]string{"keySource=both"}, "keySource must be server or caller"},
	} {
		args := []string{"template", "orkm", chart, "--kube-version", kubeVersion}
		for _, s := range tc.set {
			args = append(args, "--set", s)
		}
		out, err := exec.Command(helm, args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("helm template %v: %v, want an error saying %q:\n%s", tc.set, err, tc.want, out)
		}
	}
}

// checkDeployment holds the parts of the pod the issue asks for.
func checkDeployment(t *testing.T, d *appsv1.Deployment, set []string) {
	t.Helper()
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	sc := c.SecurityContext
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot ||
		sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("the pod must run as non-root, with a read-only root and no privilege escalation: %+v %+v", pod.SecurityContext, sc)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/healthz" ||
		c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("liveness and readiness must ask /healthz")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources: %+v", c.Resources)
	}
	// The grace period covers preStop's sleep, then the server's 10 s drain (transport.ShutdownGrace).
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil ||
		pod.TerminationGracePeriodSeconds == nil ||
		*pod.TerminationGracePeriodSeconds < c.Lifecycle.PreStop.Sleep.Seconds+10 {
		t.Errorf("preStop sleep and a grace period that covers it and the drain: %+v %v", c.Lifecycle, pod.TerminationGracePeriodSeconds)
	}
	env := map[string]*corev1.EnvVarSource{}
	for _, e := range c.Env {
		env[e.Name] = e.ValueFrom
		if e.Value != "" && regexp.MustCompile(`_(KEY|TOKEN|SECRET)$`).MatchString(e.Name) {
			t.Errorf("%s is set from a value, not from a Secret", e.Name)
		}
	}
	if strings.Contains(strings.Join(set, " "), "managementKey.existingSecret") {
		secrets := []string{"OPENROUTER_MANAGEMENT_KEY", "OPENROUTER_KEYS_MCP_AUTH_TOKEN"}
		if slices.Contains(set, "oidc.enabled=true") {
			secrets = secrets[:1] // people sign in; there is no shared access token (checkSignIn)
		}
		for _, name := range secrets {
			if env[name] == nil || env[name].SecretKeyRef == nil || env[name].SecretKeyRef.Name != "orkm-keys" {
				t.Errorf("%s must come from the Secret orkm-keys: %+v", name, env[name])
			}
		}
	}
	if strings.Contains(strings.Join(set, " "), "metrics.enabled=true") &&
		!strings.Contains(strings.Join(c.Args, " "), "--metrics-addr=0.0.0.0:9090") {
		t.Errorf("metrics on, but the args do not serve them: %v", c.Args)
	}
}

// checkTraces: with traces.otlpEndpoint the server is given it, and the NetworkPolicy lets the pods
// reach the collector's port, on the peers given; without it, neither.
func checkTraces(t *testing.T, d *appsv1.Deployment, np *networkingv1.NetworkPolicy, set []string) {
	t.Helper()
	on := strings.Contains(strings.Join(set, " "), "traces.otlpEndpoint=")
	endpoint := ""
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "OPENROUTER_KEYS_MCP_OTLP_ENDPOINT" {
			endpoint = e.Value
		}
	}
	collector := false
	for _, rule := range np.Spec.Egress {
		for _, p := range rule.Ports {
			if p.Port != nil && p.Port.IntValue() == 4318 {
				collector = len(rule.To) == 1 && rule.To[0].NamespaceSelector != nil
			}
		}
	}
	if on != (endpoint == "http://otel-collector.observability:4318") || on != collector {
		t.Errorf("traces on %v: the server's endpoint %q, egress to the collector's port 4318 on its peers %v", on, endpoint, collector)
	}
}

// checkSignIn holds the server's sign-in to the values: --auth oidc and its settings, from the values
// or from the Secret, only when oidc is enabled; the shared access token only when it is not.
func checkSignIn(t *testing.T, d *appsv1.Deployment, set []string) {
	t.Helper()
	env := map[string]corev1.EnvVar{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e
	}
	oidc := slices.Contains(set, "oidc.enabled=true")
	if got := env["OPENROUTER_KEYS_MCP_AUTH"].Value == "oidc"; got != oidc {
		t.Errorf("oidc enabled %v, the server's --auth oidc %v", oidc, got)
	}
	if _, token := env["OPENROUTER_KEYS_MCP_AUTH_TOKEN"]; oidc && token {
		t.Error("with oidc the server must not be given the shared access token too")
	}
	switch {
	case slices.Equal(set, withOIDC):
		if env["OPENROUTER_KEYS_MCP_OIDC_ISSUER"].Value != "https://id.example.com/realms/team" ||
			env["OPENROUTER_KEYS_MCP_RESOURCE_URL"].Value != "https://keys.example.com/mcp" ||
			env["OPENROUTER_KEYS_MCP_OIDC_SCOPES"].Value != "keys:read,keys:write,keys:admin" {
			t.Errorf("the sign-in settings from the values: %+v", env)
		}
		if _, ok := env["OPENROUTER_KEYS_MCP_OIDC_AUDIENCE"]; ok {
			t.Error("an audience not given must be left to the server's default (the resource URL)")
		}
	case slices.Equal(set, oidcFromSecret):
		for name, key := range map[string]string{"OPENROUTER_KEYS_MCP_OIDC_ISSUER": "issuer", "OPENROUTER_KEYS_MCP_RESOURCE_URL": "resource-url",
			"OPENROUTER_KEYS_MCP_OIDC_AUDIENCE": "audience", "OPENROUTER_KEYS_MCP_OIDC_SCOPES": "scopes"} {
			ref := env[name].ValueFrom
			if ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != "orkm-oidc" || ref.SecretKeyRef.Key != key {
				t.Errorf("%s is not read from the Secret's %q: %+v", name, key, env[name])
			}
		}
	}
}

// decodeAll decodes each document of a rendered chart strictly into its type, by kind.
func decodeAll(t *testing.T, manifest []byte) map[string]any {
	t.Helper()
	objs := map[string]any{}
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(manifest), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var head metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("a rendered document is not YAML: %v\n%s", err, doc)
		}
		obj, err := typed(head)
		if err != nil {
			t.Fatal(err)
		}
		// encoding/json, under sigs.k8s.io/yaml's own strict mode, matches names without regard to
		// case, so a misspelt readOnlyRootFileSystem would pass; the API server's decoder does not.
		js, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", head.Kind, err)
		}
		strict, err := kjson.UnmarshalStrict(js, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
		if err = errors.Join(append(strict, err)...); err != nil {
			t.Errorf("%s does not decode strictly into its API type: %v\n%s", head.Kind, err, doc)
		}
		if _, dup := objs[head.Kind]; dup {
			t.Errorf("two objects of kind %s", head.Kind)
		}
		objs[head.Kind] = obj
	}
	return objs
}

func stripComments(doc string) string {
	return regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(doc, "")
}

// typed returns a new object of the API type of apiVersion and kind.
func typed(h metav1.TypeMeta) (any, error) {
	switch h.APIVersion + " " + h.Kind {
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 Secret":
		return &corev1.Secret{}, nil
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "networking.k8s.io/v1 Ingress":
		return &networkingv1.Ingress{}, nil
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &serviceMonitor{}, nil
	}
	return nil, fmt.Errorf("the chart renders %s %s, which this test does not know: add its type", h.APIVersion, h.Kind)
}

// serviceMonitor is the part of the Prometheus operator's monitoring.coreos.com/v1 ServiceMonitor
// that the chart uses, with the operator's field names. The operator's own Go types are not in
// k8s.io/api, and their module would raise this module's Go version to 1.26 and bring
// controller-runtime along; the metadata and selector are the API's own types.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// TestTheCollectorsPortIsOpen: the NetworkPolicy lets the pods reach the collector on the port its URL
// names, an IPv6 address's included, or the scheme's. (An https URL without a port is not a case: 443
// is open to every pod anyway.)
func TestTheCollectorsPortIsOpen(t *testing.T) {
	helm := helmBinary(t)
	for endpoint, want := range map[string]int{"http://[fd00::1]:4318": 4318, "http://otel": 80, "http://otel:14318/": 14318} {
		np := decodeAll(t, render(t, helm, []string{"keySource=caller", "traces.otlpEndpoint=" + endpoint}))["NetworkPolicy"].(*networkingv1.NetworkPolicy)
		open := false
		for _, rule := range np.Spec.Egress {
			for _, p := range rule.Ports {
				open = open || (p.Port != nil && p.Port.IntValue() == want)
			}
		}
		if !open {
			t.Errorf("traces to %s: no egress to port %d", endpoint, want)
		}
	}
}
