{{/* Name of the autoscaler's Deployment, Service and (by default) ServiceAccount. */}}
{{- define "autoscaler.name" -}}
{{- include "llm-d.poolName" . }}-autoscaler
{{- end }}

{{/* Name of the autoscaler's ServiceAccount. */}}
{{- define "autoscaler.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ .Values.serviceAccount.name | default (include "autoscaler.name" .) }}
{{- else -}}
{{ .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/* Whether leader election is on ("true" or ""). */}}
{{- define "autoscaler.leaderElection" -}}
{{- $le := .Values.leaderElection -}}
{{- if kindIs "bool" $le }}{{ if $le }}true{{ end }}{{ else if gt (int .Values.replicas) 1 }}true{{ end -}}
{{- end }}

{{/* The controller ConfigMap's data: the chart's settings, then controllerConfig. */}}
{{- define "autoscaler.controllerConfig" -}}
{{- $data := dict "PROMETHEUS_BASE_URL" .Values.prometheus.url "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY" (toString .Values.prometheus.tlsInsecureSkipVerify) "GLOBAL_OPT_INTERVAL" (toString .Values.interval) "WVA_SCALE_TO_ZERO" (toString .Values.scaleToZero) -}}
{{- range $key, $value := .Values.controllerConfig }}{{ $_ := set $data $key (toString $value) }}{{ end -}}
{{- toYaml $data -}}
{{- end }}

{{/* An entry-style ConfigMap's data: each entry a YAML document. Argument: the entries map. */}}
{{- define "autoscaler.entries" -}}
{{- range $key, $entry := . }}
{{ $key }}: |
  {{- if kindIs "string" $entry }}
  {{- $entry | trim | nindent 2 }}
  {{- else }}
  {{- toYaml $entry | nindent 2 }}
  {{- end }}
{{- end }}
{{- end }}
