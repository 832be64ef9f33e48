{{/*
Templates shared by the umbrella chart and its subcharts. Helm compiles the templates of a chart
and of all its subcharts together, so the subcharts include these by name; they read only
`.Values.global`, `.Release` and `.Chart`, which every subchart has.
*/}}

{{/* Name of the InferencePool; every object of a release is named after it. */}}
{{- define "llm-d.poolName" -}}
{{- .Values.global.poolName | default .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end }}

{{/* Name of the router's Deployment, Service, ConfigMap and ServiceAccount (upstream: <pool>-epp). */}}
{{- define "llm-d.eppName" -}}
{{- include "llm-d.poolName" . }}-epp
{{- end }}

{{/* Name of the kv-indexer's Deployment and Service. */}}
{{- define "llm-d.kvIndexerName" -}}
{{- include "llm-d.poolName" . }}-kv-indexer
{{- end }}

{{/* Fully qualified DNS name of a Service of this release: dict "name" <service> "root" <context>. */}}
{{- define "llm-d.serviceHost" -}}
{{- printf "%s.%s.svc.%s" .name .root.Release.Namespace .root.Values.global.clusterDomain -}}
{{- end }}

{{/* Fixed ports other components address; they are part of the contract between subcharts. */}}
{{- define "llm-d.port.extProc" -}}9002{{- end }}
{{- define "llm-d.port.grpcHealth" -}}9003{{- end }}
{{- define "llm-d.port.metrics" -}}9090{{- end }}
{{- define "llm-d.port.kvEvents" -}}5557{{- end }}
{{- define "llm-d.port.kvIndexerHttp" -}}8080{{- end }}
{{- define "llm-d.port.kvIndexerGrpc" -}}50051{{- end }}

{{/* Whether the router holds the KV-block index of the precise path ("true" or ""). */}}
{{- define "llm-d.indexInRouter" -}}
{{- if ne .Values.global.kvCache.index "kv-indexer" }}true{{ end -}}
{{- end }}

{{/* ZMQ address the engines publish KV events to: the router's or the kv-indexer's Service. */}}
{{- define "llm-d.kvEventsEndpoint" -}}
{{- $svc := include "llm-d.eppName" . -}}
{{- if not (include "llm-d.indexInRouter" .) }}{{ $svc = include "llm-d.kvIndexerName" . }}{{ end -}}
tcp://{{ include "llm-d.serviceHost" (dict "name" $svc "root" .) }}:{{ include "llm-d.port.kvEvents" . }}
{{- end }}

{{/* HTTP address of the kv-indexer's scoring API. */}}
{{- define "llm-d.kvIndexerUrl" -}}
http://{{ include "llm-d.serviceHost" (dict "name" (include "llm-d.kvIndexerName" .) "root" .) }}:{{ include "llm-d.port.kvIndexerHttp" . }}
{{- end }}

{{/* Labels that make a pod a member of the pool (YAML map). */}}
{{- define "llm-d.poolMatchLabels" -}}
{{- if .Values.global.poolMatchLabels -}}
{{ toYaml .Values.global.poolMatchLabels }}
{{- else -}}
llm-d.ai/inference-serving: "true"
llm-d.ai/pool: {{ include "llm-d.poolName" . }}
{{- end }}
{{- end }}

{{/* Labels of every object; the component is the chart's name. */}}
{{- define "llm-d.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "llm-d.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: llm-d
{{- end }}

{{/* Labels a component's Deployment selects its pods by. */}}
{{- define "llm-d.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
An image of the project: dict "image" <{repository, tag}> "name" <image name under the registry>
"root" <context>. The repository defaults to <global.imageRegistry>/<name>, the tag to
global.imageTag, then the chart's appVersion; a tag starting with sha256: becomes a digest.
*/}}
{{- define "llm-d.image" -}}
{{- $image := .image | default dict -}}
{{- $g := .root.Values.global -}}
{{- $repo := $image.repository | default (printf "%s/%s" (trimSuffix "/" $g.imageRegistry) .name) -}}
{{- $tag := $image.tag | default $g.imageTag | default .root.Chart.AppVersion | toString -}}
{{- if hasPrefix "sha256:" $tag }}{{ printf "%s@%s" $repo $tag }}{{ else }}{{ printf "%s:%s" $repo $tag }}{{ end -}}
{{- end }}

{{/* Pull policy of an image: dict "image" <{pullPolicy}> "root" <context>. */}}
{{- define "llm-d.pullPolicy" -}}
{{- (.image | default dict).pullPolicy | default .root.Values.global.imagePullPolicy -}}
{{- end }}

{{/* The imagePullSecrets of a pod spec, from global.imagePullSecrets. */}}
{{- define "llm-d.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Command-line flags from a map, one `--key=value` item per line of a YAML list (keys sorted); a
`true` value gives `--key` alone, `false` gives `--key=false`, a list repeats the flag.
*/}}
{{- define "llm-d.flags" -}}
{{- range $key, $value := . }}
{{- if kindIs "bool" $value }}
{{- if $value }}
- {{ printf "--%s" $key | quote }}
{{- else }}
- {{ printf "--%s=false" $key | quote }}
{{- end }}
{{- else if kindIs "slice" $value }}
{{- range $value }}
- {{ printf "--%s=%v" $key . | quote }}
{{- end }}
{{- else if or (kindIs "float64" $value) (kindIs "int64" $value) (kindIs "int" $value) }}
- {{ printf "--%s=%s" $key (include "llm-d.number" $value) | quote }}
{{- else }}
- {{ printf "--%s=%v" $key $value | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The restricted container securityContext the project's own images run with. */}}
{{- define "llm-d.restrictedSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* A number as text without exponent: 1000000, not 1e+06 (values files give floats). */}}
{{- define "llm-d.number" -}}
{{- if and (kindIs "float64" .) (eq . (float64 (int64 .))) }}{{ int64 . }}{{ else }}{{ . }}{{ end -}}
{{- end }}
