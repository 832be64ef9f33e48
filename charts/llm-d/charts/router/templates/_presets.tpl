{{/*
The EndpointPickerConfig of each preset (global.preset). Each is a complete config the router's
loader accepts; the loader adds what a config leaves implicit (picker, profile handler,
producers a plugin requires, the metrics data source).
*/}}

{{/* Upstream's built-in blend: queue 2, KV-cache utilization 2, prefix cache 3. */}}
{{- define "router.preset.default" -}}
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
  - type: queue-scorer
  - type: kv-cache-utilization-scorer
  - type: prefix-cache-scorer
schedulingProfiles:
  - name: default
    plugins:
      - pluginRef: queue-scorer
        weight: 2
      - pluginRef: kv-cache-utilization-scorer
        weight: 2
      - pluginRef: prefix-cache-scorer
        weight: 3
{{- end }}

{{/*
"Sticky until saturated": keep the endpoints that hold most of the prompt unless waiting for them
costs too much time to first token, then prefer the fewest tokens in flight.
*/}}
{{- define "router.preset.optimized-baseline" -}}
{{- $o := .Values.epp.presetOptions -}}
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
  - type: approx-prefix-cache-producer
  - type: inflight-load-producer
  - type: prefix-cache-affinity-filter
    parameters:
      affinityThreshold: {{ include "llm-d.number" $o.affinityThreshold }}
      maxTTFTPenaltyMs: {{ include "llm-d.number" $o.maxTTFTPenaltyMs }}
      peakPrefillThroughput: {{ include "llm-d.number" $o.peakPrefillThroughput }}
  - type: token-load-scorer
  - type: max-score-picker
schedulingProfiles:
  - name: default
    plugins:
      - pluginRef: prefix-cache-affinity-filter
      - pluginRef: token-load-scorer
      - pluginRef: max-score-picker
{{- end }}

{{/*
Precise prefix cache: the engines' own KV events say which endpoint holds which blocks. With the
index in the router, the router binds the ZMQ socket the engines publish to; otherwise it asks
the kv-indexer component. Load scorers keep hot endpoints from being overfilled.
*/}}
{{- define "router.preset.precise-prefix-cache" -}}
{{- $o := .Values.epp.presetOptions -}}
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
  - type: precise-prefix-cache-producer
    parameters:
      tokenProcessorConfig:
        blockSizeTokens: {{ include "llm-d.number" .Values.global.kvCache.blockSize }}
{{- if include "llm-d.indexInRouter" . }}
{{- with $o.redisAddress }}
      indexerConfig:
        kvBlockIndexConfig:
          redisConfig:
            address: {{ . | quote }}
{{- end }}
      kvEventsConfig:
        zmqEndpoint: "tcp://*:{{ include "llm-d.port.kvEvents" . }}"
        discoverPods: false
        engineType: {{ .Values.modelServers.type | quote }}
{{- else }}
      indexerURL: {{ include "llm-d.kvIndexerUrl" . | quote }}
{{- end }}
  - type: prefix-cache-scorer
    parameters:
      prefixMatchInfoProducerName: precise-prefix-cache-producer
  - type: queue-scorer
  - type: kv-cache-utilization-scorer
schedulingProfiles:
  - name: default
    plugins:
      - pluginRef: prefix-cache-scorer
        weight: 3
      - pluginRef: queue-scorer
        weight: 2
      - pluginRef: kv-cache-utilization-scorer
        weight: 2
{{- end }}

{{/*
Prefill/decode disaggregation: pick a decode endpoint first; when enough of the prompt is not in
its cache, also pick a prefill endpoint, named to the decode pod's sidecar in x-prefiller-host-port.
*/}}
{{- define "router.preset.pd" -}}
{{- $o := .Values.epp.presetOptions -}}
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
  - type: prefix-cache-scorer
  - type: queue-scorer
  - type: prefill-filter
  - type: decode-filter
  - type: max-score-picker
  - type: prefix-based-pd-decider
    parameters:
      nonCachedTokens: {{ include "llm-d.number" $o.pdNonCachedTokens }}
  - type: disagg-profile-handler
    parameters:
      deciders:
        prefill: prefix-based-pd-decider
schedulingProfiles:
  - name: prefill
    plugins:
      - pluginRef: prefill-filter
      - pluginRef: prefix-cache-scorer
        weight: 2
      - pluginRef: queue-scorer
        weight: 1
      - pluginRef: max-score-picker
  - name: decode
    plugins:
      - pluginRef: decode-filter
      - pluginRef: prefix-cache-scorer
        weight: 2
      - pluginRef: queue-scorer
        weight: 1
      - pluginRef: max-score-picker
{{- end }}

{{/* File name of the preset's config in the ConfigMap. */}}
{{- define "router.presetFile" -}}
{{ .Values.global.preset }}.yaml
{{- end }}

{{/* The ConfigMap file the router loads (see epp.pluginsConfigFile). */}}
{{- define "router.configFile" -}}
{{- $custom := .Values.epp.pluginsCustomConfig | default dict -}}
{{- if .Values.epp.pluginsConfigFile -}}
{{ .Values.epp.pluginsConfigFile }}
{{- else if eq (len $custom) 1 -}}
{{ keys $custom | first }}
{{- else if eq (len $custom) 0 -}}
{{ include "router.presetFile" . }}
{{- else -}}
{{ fail "router.epp.pluginsConfigFile: several router.epp.pluginsCustomConfig files are given; name the one the router loads" }}
{{- end }}
{{- end }}

{{/* Whether the router binds the ZMQ socket for KV events ("true" or ""). */}}
{{- define "router.bindsKvEvents" -}}
{{- if and (eq .Values.global.preset "precise-prefix-cache") (include "llm-d.indexInRouter" .) }}true{{ end -}}
{{- end }}
