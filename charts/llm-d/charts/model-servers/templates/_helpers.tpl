{{/* Served model name: modelArtifacts.name, else global.modelName. */}}
{{- define "model-servers.servedName" -}}
{{- .Values.modelArtifacts.name | default .Values.global.modelName -}}
{{- end }}

{{/* modelArtifacts.uri, defaulting to hf://<global.modelName>. */}}
{{- define "model-servers.uri" -}}
{{- .Values.modelArtifacts.uri | default (printf "hf://%s" .Values.global.modelName) -}}
{{- end }}

{{/* What the engine's --model names: the Hugging Face id, or the weights' folder on the claim. */}}
{{- define "model-servers.modelArg" -}}
{{- $uri := include "model-servers.uri" . -}}
{{- if eq .Values.engine "simulator" -}}
{{ include "model-servers.servedName" . }}
{{- else if hasPrefix "hf://" $uri -}}
{{ trimPrefix "hf://" $uri }}
{{- else if hasPrefix "pvc://" $uri -}}
{{- $rest := trimPrefix "pvc://" $uri -}}
{{- $parts := splitn "/" 2 $rest -}}
/model-cache/{{ $parts._1 | default "" }}
{{- else -}}
{{ fail (printf "model-servers.modelArtifacts.uri: %q must start with hf:// or pvc://" $uri) }}
{{- end }}
{{- end }}

{{/* Name of the PersistentVolumeClaim of a pvc:// uri. */}}
{{- define "model-servers.pvcName" -}}
{{- $parts := splitn "/" 2 (trimPrefix "pvc://" (include "model-servers.uri" .)) -}}
{{- $parts._0 -}}
{{- end }}

{{/* Whether the engines publish KV events ("true" or ""). */}}
{{- define "model-servers.kvEvents" -}}
{{- $on := .Values.kvEvents.enabled -}}
{{- if kindIs "bool" $on }}{{ if $on }}true{{ end }}{{ else if eq .Values.global.preset "precise-prefix-cache" }}true{{ end -}}
{{- end }}

{{/* Extended resource name of one accelerator, or "" for none. */}}
{{- define "model-servers.acceleratorResource" -}}
{{- $a := .Values.accelerator -}}
{{- if $a.resourceName -}}
{{ $a.resourceName }}
{{- else -}}
{{- $names := dict "nvidia" "nvidia.com/gpu" "amd" "amd.com/gpu" "intel-gaudi" "habana.ai/gaudi" "intel-xpu" "gpu.intel.com/i915" "google-tpu" "google.com/tpu" "cpu" "" -}}
{{- if not (hasKey $names $a.type) }}{{ fail (printf "model-servers.accelerator.type: %q is not one of nvidia, amd, intel-gaudi, intel-xpu, google-tpu, cpu" $a.type) }}{{ end -}}
{{ get $names $a.type }}
{{- end }}
{{- end }}

{{/*
Labels of a model-server pod: the pool's member labels, llm-d.ai/inference-serving and the role.
Argument: dict "role" <decode|prefill> "root" <context>.
*/}}
{{- define "model-servers.podLabels" -}}
{{- $labels := include "llm-d.poolMatchLabels" .root | fromYaml -}}
{{- $_ := set $labels "llm-d.ai/inference-serving" "true" -}}
{{- $_ := set $labels "llm-d.ai/role" .role -}}
{{- $_ := set $labels "llm-d.ai/engine-type" "vllm" -}}
{{- toYaml $labels -}}
{{- end }}
