{{/* Name of the operator's Deployment, Service and (by default) ServiceAccount. */}}
{{- define "operator.name" -}}
{{- include "llm-d.poolName" . }}-operator
{{- end }}

{{/* Name of the operator's ServiceAccount. */}}
{{- define "operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ .Values.serviceAccount.name | default (include "operator.name" .) }}
{{- else -}}
{{ .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/* Whether leader election is on ("true" or ""). */}}
{{- define "operator.leaderElection" -}}
{{- $le := .Values.leaderElection -}}
{{- if kindIs "bool" $le }}{{ if $le }}true{{ end }}{{ else if gt (int .Values.replicas) 1 }}true{{ end -}}
{{- end }}
