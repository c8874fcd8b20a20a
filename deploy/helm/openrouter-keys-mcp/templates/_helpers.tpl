{{/* The name of the release's objects, within the 63 characters of a DNS label. */}}
{{- define "orkm.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "orkm.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "orkm.labels" -}}
{{ include "orkm.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "orkm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "orkm.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret a secret value is read from: its existingSecret, else the chart's own. */}}
{{- define "orkm.secretName" -}}
{{- if .secret.existingSecret -}}
{{- .secret.existingSecret -}}
{{- else -}}
{{- include "orkm.fullname" .root -}}
{{- end -}}
{{- end -}}

{{/* Whether a secret value is configured at all. */}}
{{- define "orkm.hasSecret" -}}
{{- if or .existingSecret .value -}}true{{- end -}}
{{- end -}}

{{/* The checks that make a wrong configuration fail at install rather than in a crash loop. */}}
{{- define "orkm.validate" -}}
{{- if not (has .Values.keySource (list "server" "caller")) -}}
{{- fail "keySource must be server or caller" -}}
{{- end -}}
{{- if eq .Values.keySource "server" -}}
{{- if not (include "orkm.hasSecret" .Values.managementKey) -}}
{{- fail "keySource server needs the management key: set managementKey.existingSecret (a Secret holding it), or keySource caller" -}}
{{- end -}}
{{- if and (not .Values.oidc.enabled) (not (include "orkm.hasSecret" .Values.accessToken)) -}}
{{- fail "keySource server needs an access token for callers: set accessToken.existingSecret (a Secret holding 16 characters or more), or oidc.enabled so each person signs in" -}}
{{- end -}}
{{- end -}}
{{- if .Values.oidc.enabled -}}
{{- if ne .Values.keySource "server" -}}
{{- fail "oidc.enabled lets people use the server's key: it needs keySource server and managementKey" -}}
{{- end -}}
{{- if include "orkm.hasSecret" .Values.accessToken -}}
{{- fail "oidc.enabled and accessToken are two ways to let callers in: choose one (unset accessToken)" -}}
{{- end -}}
{{- if and (not .Values.oidc.existingSecret) (or (not .Values.oidc.issuer) (not .Values.oidc.resourceURL)) -}}
{{- fail "oidc.enabled needs oidc.issuer and oidc.resourceURL (this server's public /mcp URL), or oidc.existingSecret holding them" -}}
{{- end -}}
{{- end -}}
{{- if lt (int .Values.terminationGracePeriodSeconds) (add (int .Values.preStopSleepSeconds) 10 2) -}}
{{- fail "terminationGracePeriodSeconds must cover preStopSleepSeconds plus the server's 10 s for calls in flight, and a little more" -}}
{{- end -}}
{{- end -}}
