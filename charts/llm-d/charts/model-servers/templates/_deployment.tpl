{{/*
The Deployment of one role of model servers. Argument: dict "role" <decode|prefill> "root" <context>.
Decode pods carry the P/D sidecar when routing.proxy.enabled; the engine then listens behind it.
*/}}
{{- define "model-servers.deployment" -}}
{{- $root := .root -}}
{{- $role := .role -}}
{{- $v := $root.Values -}}
{{- $spec := get $v $role -}}
{{- $proxy := $v.routing.proxy -}}
{{- $sidecar := and (eq $role "decode") $proxy.enabled -}}
{{- $enginePort := ternary $proxy.targetPort $v.routing.servicePort $sidecar | int -}}
{{- $servicePort := $v.routing.servicePort | int -}}
{{- $sim := eq $v.engine "simulator" -}}
{{- $uri := include "model-servers.uri" $root -}}
{{- $served := include "model-servers.servedName" $root -}}
{{- $kvEvents := include "model-servers.kvEvents" $root -}}
{{- $pd := $v.prefill.create -}}
{{- $tp := $spec.parallelism.tensor | int -}}
{{- $gpu := "" -}}
{{- if not $sim }}{{ $gpu = include "model-servers.acceleratorResource" $root }}{{ end -}}
{{- $computed := dict -}}
{{- if $sim -}}
{{- $computed = dict "requests" (dict "cpu" "200m" "memory" "256Mi") "limits" (dict "memory" "1Gi") -}}
{{- else if $gpu -}}
{{- $computed = dict "requests" (dict $gpu $tp) "limits" (dict $gpu $tp) -}}
{{- end -}}
{{- $resources := mergeOverwrite $computed (deepCopy ($spec.resources | default dict)) -}}
{{- $podLabels := include "model-servers.podLabels" (dict "role" $role "root" $root) | fromYaml -}}
{{- if and $sidecar (eq $enginePort $servicePort) }}
{{- fail (printf "model-servers.routing.proxy.targetPort: the engine behind the sidecar needs a port other than routing.servicePort (%d)" $servicePort) }}
{{- end -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "llm-d.poolName" $root }}-{{ $role }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "llm-d.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ $role }}
    llm-d.ai/role: {{ $role }}
spec:
  {{- if not $v.autoscaling.enabled }}
  replicas: {{ $spec.replicas }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "llm-d.selectorLabels" $root | nindent 6 }}
      llm-d.ai/role: {{ $role }}
  template:
    metadata:
      labels:
        {{- $fixed := merge (include "llm-d.selectorLabels" $root | fromYaml) (dict "app.kubernetes.io/component" $role) $podLabels }}
        {{- merge $fixed (deepCopy ($spec.podLabels | default dict)) | toYaml | nindent 8 }}
      {{- with $spec.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      {{- with include "llm-d.imagePullSecrets" $root }}{{ . | nindent 6 }}{{ end }}
      {{- with $spec.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- if $sim }}
      securityContext:
        runAsNonRoot: true
        seccompProfile:
          type: RuntimeDefault
      {{- end }}
      {{- if $sidecar }}
      # The sidecar is a native sidecar container: it starts before the engine and stops after it.
      initContainers:
        - name: pd-sidecar
          image: {{ include "llm-d.image" (dict "image" $proxy.image "name" "pd-sidecar" "root" $root) | quote }}
          imagePullPolicy: {{ include "llm-d.pullPolicy" (dict "image" $proxy.image "root" $root) }}
          restartPolicy: Always
          args:
            - "--port={{ $servicePort }}"
            - "--model-server-port={{ $enginePort }}"
            - "--kv-connector={{ $proxy.connector }}"
            - "--secure-serving={{ $proxy.secureServing }}"
            - "--inference-pool={{ $root.Release.Namespace }}/{{ include "llm-d.poolName" $root }}"
            {{- if $proxy.enableSsrfProtection }}
            {{- if not $proxy.prefillAllowlist }}
            {{- fail "model-servers.routing.proxy.prefillAllowlist: routing.proxy.enableSsrfProtection needs the allowed prefill targets (the sidecar does not watch the pool's pods yet)" }}
            {{- end }}
            - "--enable-ssrf-protection"
            - "--prefill-allowlist={{ join "," $proxy.prefillAllowlist }}"
            {{- end }}
            {{- with include "llm-d.flags" $proxy.flags }}{{ . | trim | nindent 12 }}{{ end }}
          ports:
            - name: http
              containerPort: {{ $servicePort }}
              protocol: TCP
          readinessProbe:
            tcpSocket:
              port: http
            periodSeconds: 5
          {{- with $proxy.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          securityContext:
            {{- include "llm-d.restrictedSecurityContext" $root | nindent 12 }}
          volumeMounts:
            - name: sidecar-tmp
              mountPath: /tmp
      {{- end }}
      containers:
        - name: {{ ternary "simulator" "vllm" $sim }}
          {{- if $sim }}
          image: {{ include "llm-d.image" (dict "image" $v.simulator.image "name" "inference-sim" "root" $root) | quote }}
          imagePullPolicy: {{ include "llm-d.pullPolicy" (dict "image" $v.simulator.image "root" $root) }}
          {{- else }}
          image: {{ printf "%s:%s" $v.vllm.image.repository (toString $v.vllm.image.tag) | quote }}
          imagePullPolicy: {{ include "llm-d.pullPolicy" (dict "image" $v.vllm.image "root" $root) }}
          command: ["vllm", "serve"]
          {{- end }}
          args:
            - "--model={{ include "model-servers.modelArg" $root }}"
            - "--served-model-name={{ $served }}"
            - "--port={{ $enginePort }}"
            - "--tensor-parallel-size={{ $tp }}"
            {{- if $kvEvents }}
            - "--block-size={{ include "llm-d.number" $v.global.kvCache.blockSize }}"
            - "--prefix-caching-hash-algo=sha256_cbor"
            - {{ printf "--kv-events-config=%s" (dict "enable_kv_cache_events" true "publisher" "zmq" "endpoint" (include "llm-d.kvEventsEndpoint" $root) "topic" (printf "kv@$(POD_IP):%d@%s" $servicePort $served) | toJson) | quote }}
            {{- end }}
            {{- if $pd }}
            - {{ printf "--kv-transfer-config=%s" (dict "kv_connector" "NixlConnector" "kv_role" "kv_both" | toJson) | quote }}
            {{- end }}
            {{- if $sim }}
            {{- with $v.simulator.preset }}
            - "--preset={{ . }}"
            {{- end }}
            {{- with include "llm-d.flags" $v.simulator.flags }}{{ . | trim | nindent 12 }}{{ end }}
            {{- end }}
            {{- range $spec.args }}
            - {{ . | quote }}
            {{- end }}
          env:
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
            - name: POD_IP
              valueFrom:
                fieldRef:
                  fieldPath: status.podIP
            {{- if $kvEvents }}
            # vLLM's block hashes are only reproducible with a fixed seed.
            - name: PYTHONHASHSEED
              value: {{ $v.global.kvCache.hashSeed | toString | quote }}
            {{- end }}
            {{- if not $sim }}
            - name: HF_HOME
              value: /model-cache
            {{- if $pd }}
            - name: VLLM_NIXL_SIDE_CHANNEL_HOST
              value: "$(POD_IP)"
            {{- end }}
            {{- with $v.modelArtifacts.authSecretName }}
            - name: HF_TOKEN
              valueFrom:
                secretKeyRef:
                  name: {{ . }}
                  key: HF_TOKEN
            {{- end }}
            {{- end }}
            {{- with $spec.env }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          ports:
            - name: {{ ternary "http-engine" "http" $sidecar }}
              containerPort: {{ $enginePort }}
              protocol: TCP
          {{- /* Probes go to the engine itself, not through the sidecar. */}}
          startupProbe:
            httpGet:
              path: /health
              port: {{ $enginePort }}
            periodSeconds: 10
            failureThreshold: {{ max 1 (div ($spec.startupTimeoutSeconds | int) 10) }}
          readinessProbe:
            httpGet:
              path: /health
              port: {{ $enginePort }}
            periodSeconds: 5
            failureThreshold: 3
          livenessProbe:
            httpGet:
              path: /health
              port: {{ $enginePort }}
            periodSeconds: 10
            timeoutSeconds: 5
            failureThreshold: 3
          {{- with $resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- if $sim }}
          securityContext:
            {{- include "llm-d.restrictedSecurityContext" $root | nindent 12 }}
          {{- end }}
          volumeMounts:
            {{- if $sim }}
            - name: tmp
              mountPath: /tmp
            {{- else }}
            - name: model-cache
              mountPath: /model-cache
              {{- if hasPrefix "pvc://" $uri }}
              readOnly: true
              {{- end }}
            - name: shm
              mountPath: /dev/shm
            {{- end }}
            {{- with $spec.volumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
        {{- with $spec.extraContainers }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      volumes:
        {{- if $sim }}
        - name: tmp
          emptyDir: {}
        {{- else if hasPrefix "pvc://" $uri }}
        - name: model-cache
          persistentVolumeClaim:
            claimName: {{ include "model-servers.pvcName" $root }}
            readOnly: true
        {{- else }}
        - name: model-cache
          {{- with $v.modelArtifacts.size }}
          emptyDir:
            sizeLimit: {{ . }}
          {{- else }}
          emptyDir: {}
          {{- end }}
        {{- end }}
        {{- if not $sim }}
        # Shared memory for the engine's worker processes (tensor parallelism).
        - name: shm
          emptyDir:
            medium: Memory
        {{- end }}
        {{- if $sidecar }}
        - name: sidecar-tmp
          emptyDir: {}
        {{- end }}
        {{- with $spec.volumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $spec.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $spec.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $spec.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
