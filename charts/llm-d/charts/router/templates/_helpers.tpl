{{/* Name of the router's ServiceAccount. */}}
{{- define "router.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ .Values.serviceAccount.name | default (include "llm-d.eppName" .) }}
{{- else -}}
{{ .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/* The pool's member labels: router.modelServers.matchLabels, else the shared default. */}}
{{- define "router.matchLabels" -}}
{{- if .Values.modelServers.matchLabels -}}
{{ toYaml .Values.modelServers.matchLabels }}
{{- else -}}
{{ include "llm-d.poolMatchLabels" . }}
{{- end }}
{{- end }}

{{/* Whether leader election is on ("true" or ""). */}}
{{- define "router.leaderElection" -}}
{{- $le := .Values.epp.leaderElection -}}
{{- if kindIs "bool" $le }}{{ if $le }}true{{ end }}{{ else if gt (int .Values.epp.replicas) 1 }}true{{ end -}}
{{- end }}

{{/* Flags the chart sets itself; router.epp.flags may not repeat them. */}}
{{- define "router.reservedFlags" -}}
pool-name pool-namespace pool-group config-file config-text grpc-port grpc-health-port metrics-port proxy-port ha-enable-leader-election
{{- end }}
