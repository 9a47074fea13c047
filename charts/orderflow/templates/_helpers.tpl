{{/*
Names are `<release>-<thing>` with no chart-name prefix: docs/conventions.md fixes
`<orderflow-name>-runtime` and `<orderflow-name>-order-query-worker`, and the OrderFlow resource is
named after the release.
*/}}
{{- define "orderflow.name" -}}
{{- printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "orderflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: {root, name} */}}
{{- define "orderflow.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* Common labels: {root, name} */}}
{{- define "orderflow.labels" -}}
{{ include "orderflow.selectorLabels" . }}
app.kubernetes.io/part-of: orderflow
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "orderflow.chart" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "orderflow.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if eq $tag "latest" -}}
{{- fail "image.tag must not be latest: pin a version or a digest" -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "orderflow.cockroachdb.name" -}}{{ include "orderflow.name" (dict "root" . "name" "cockroachdb") }}{{- end -}}
{{- define "orderflow.cockroachdb.public" -}}{{ include "orderflow.name" (dict "root" . "name" "cockroachdb-public") }}{{- end -}}
{{- define "orderflow.nats.name" -}}{{ include "orderflow.name" (dict "root" . "name" "nats") }}{{- end -}}
{{- define "orderflow.nats.headless" -}}{{ include "orderflow.name" (dict "root" . "name" "nats-headless") }}{{- end -}}

{{/* NATS_URL for the services. */}}
{{- define "orderflow.natsUrl" -}}
{{- if .Values.nats.external.enabled -}}
{{- required "nats.external.url is required when nats.external.enabled" .Values.nats.external.url -}}
{{- else -}}
{{- printf "nats://%s:4222" (include "orderflow.nats.name" .) -}}
{{- end -}}
{{- end -}}

{{/* Secret holding service passwords in secure in-cluster CockroachDB mode. */}}
{{- define "orderflow.cockroachdb.passwordsSecret" -}}
{{- .Values.cockroachdb.tls.passwordsSecret | default (include "orderflow.name" (dict "root" . "name" "cockroachdb-passwords")) -}}
{{- end -}}

{{/* Secret holding DATABASE_URL per service in external mode. */}}
{{- define "orderflow.cockroachdb.externalSecret" -}}
{{- .Values.cockroachdb.external.existingSecret | default (include "orderflow.name" (dict "root" . "name" "database-urls")) -}}
{{- end -}}

{{/* Pod-level template fragments shared by every orderflow workload: {root, c (merged component)} */}}
{{- define "orderflow.podScheduling" -}}
{{- $c := .c -}}
{{- with $c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- range . }}
  - maxSkew: {{ .maxSkew }}
    topologyKey: {{ .topologyKey }}
    whenUnsatisfiable: {{ .whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "orderflow.selectorLabels" (dict "root" $.root "name" $.name) | nindent 8 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* JetStream replicas of the order stream: the OrderFlow's eventBus.replicas, else the in-cluster NATS servers (at most 3), else 1. */}}
{{- define "orderflow.streamReplicas" -}}
{{- $bus := (.Values.orderflow.spec.eventBus | default dict) -}}
{{- if $bus.replicas -}}
{{- $bus.replicas -}}
{{- else if .Values.nats.external.enabled -}}
1
{{- else -}}
{{- min 3 (int .Values.nats.replicas) -}}
{{- end -}}
{{- end -}}

{{/* "true" when the operator runs and owns the query workers' replica count. */}}
{{- define "orderflow.operatorScalesWorkers" -}}
{{- if and .Values.operator.enabled .Values.queryWorker.replicasManagedByOperator -}}true{{- end -}}
{{- end -}}

{{/*
The order API's AUTH_MODE. Running it without authentication must be a choice: with neither
auth.issuer nor auth.mode none the chart refuses to render, with one message saying what to set.
*/}}
{{- define "orderflow.auth.mode" -}}
{{- $a := .Values.auth -}}
{{- if eq $a.mode "none" -}}
{{- if $a.issuer -}}
{{- fail "auth: auth.mode is none but auth.issuer is set; remove one of them" -}}
{{- end -}}
none
{{- else if $a.issuer -}}
oidc
{{- else if eq $a.mode "oidc" -}}
{{- fail "auth: auth.mode is oidc but auth.issuer is empty; set auth.issuer to your OpenID Connect issuer (https://...)" -}}
{{- else -}}
{{- fail "auth: choose how the order API authenticates: set auth.issuer (and auth.audience) to your OpenID Connect issuer, or auth.mode=none to run it without authentication (anyone who reaches it may act as any customer)" -}}
{{- end -}}
{{- end -}}

{{/* The order API's authentication and abuse limits as EnvVars (a YAML list). */}}
{{- define "orderflow.orderApi.env" -}}
{{- $a := .Values.auth -}}
{{- $o := .Values.orderApi -}}
{{- $mode := include "orderflow.auth.mode" . -}}
- name: AUTH_MODE
  value: {{ $mode }}
{{- if eq $mode "oidc" }}
- name: AUTH_ISSUER
  value: {{ $a.issuer | quote }}
{{- with $a.jwksUrl }}
- name: AUTH_JWKS_URL
  value: {{ . | quote }}
{{- end }}
- name: AUTH_AUDIENCE
  value: {{ $a.audience | quote }}
- name: AUTH_ALGORITHMS
  value: {{ join "," $a.algorithms | quote }}
- name: AUTH_CUSTOMER_CLAIM
  value: {{ $a.customerClaim | quote }}
- name: AUTH_STAFF_CLAIM
  value: {{ $a.staffClaim | quote }}
- name: AUTH_STAFF_VALUE
  value: {{ $a.staffValue | quote }}
{{- end }}
- name: RATE_LIMIT_MAX
  value: {{ ternary $o.rateLimit.max 0 $o.rateLimit.enabled | toString | quote }}
- name: RATE_LIMIT_WINDOW_MS
  value: {{ mul $o.rateLimit.windowSeconds 1000 | toString | quote }}
- name: HTTP_TRUST_PROXY_HOPS
  value: {{ $o.trustProxyHops | toString | quote }}
{{- end -}}
