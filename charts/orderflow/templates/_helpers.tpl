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

{{/*
An image reference: {root, image: {repository, tag, digest}, defaultTag}. global.imageRegistry
replaces the registry host of the repository (a first path part with a dot, a colon or
"localhost"), or goes in front of a Docker Hub name.
*/}}
{{- define "orderflow.imageRef" -}}
{{- $repo := .image.repository -}}
{{- $registry := (.root.Values.global | default dict).imageRegistry | default "" -}}
{{- if $registry -}}
{{- $parts := splitList "/" $repo -}}
{{- $first := first $parts -}}
{{- if and (gt (len $parts) 1) (or (contains "." $first) (contains ":" $first) (eq $first "localhost")) -}}
{{- $repo = join "/" (rest $parts) -}}
{{- end -}}
{{- $repo = printf "%s/%s" (trimSuffix "/" $registry) $repo -}}
{{- end -}}
{{- $tag := .image.tag | default .defaultTag | toString -}}
{{- if eq $tag "latest" -}}
{{- fail (printf "%s: the image tag must not be latest: pin a version or a digest" .image.repository) -}}
{{- end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $repo .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end -}}

{{- define "orderflow.image" -}}
{{- if eq (.Values.image.tag | default .Chart.AppVersion) "latest" -}}
{{- fail "image.tag must not be latest: pin a version or a digest" -}}
{{- end -}}
{{- include "orderflow.imageRef" (dict "root" . "image" .Values.image "defaultTag" .Chart.AppVersion) -}}
{{- end -}}

{{/* imagePullSecrets and priorityClassName of a pod spec: {root, priorityClassName} */}}
{{- define "orderflow.podCommon" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{- define "orderflow.cockroachdb.name" -}}{{ include "orderflow.name" (dict "root" . "name" "cockroachdb") }}{{- end -}}
{{- define "orderflow.cockroachdb.public" -}}{{ include "orderflow.name" (dict "root" . "name" "cockroachdb-public") }}{{- end -}}
{{- define "orderflow.nats.name" -}}{{ include "orderflow.name" (dict "root" . "name" "nats") }}{{- end -}}
{{- define "orderflow.nats.headless" -}}{{ include "orderflow.name" (dict "root" . "name" "nats-headless") }}{{- end -}}

{{/* The Secret of the NATS users' passwords (keys: the user names). */}}
{{- define "orderflow.nats.authSecret" -}}
{{- .Values.nats.auth.existingSecret | default (include "orderflow.name" (dict "root" . "name" "nats-auth")) -}}
{{- end -}}

{{/* "true" when the services reach NATS over TLS with the chart's (or your) certificate. */}}
{{- define "orderflow.nats.tls" -}}
{{- if and (not .Values.nats.external.enabled) .Values.nats.tls.enabled -}}true{{- end -}}
{{- end -}}

{{/* The Secret of the in-cluster NATS server certificate (tls.crt, tls.key, ca.crt). */}}
{{- define "orderflow.nats.tlsSecret" -}}
{{- .Values.nats.tls.secretName | default (include "orderflow.name" (dict "root" . "name" "nats-tls")) -}}
{{- end -}}

{{/*
NATS_URL of a service: {root, user}. With nats.auth.enabled each server URL carries the service's
user and $(NATS_PASSWORD), which Kubernetes expands from the NATS_PASSWORD variable declared
before it (a secretKeyRef); connectNats takes them out of the URL (nats.js ignores userinfo).
*/}}
{{- define "orderflow.natsUrl" -}}
{{- $root := .root -}}
{{- $urls := list -}}
{{- if $root.Values.nats.external.enabled -}}
{{- $urls = splitList "," (required "nats.external.url is required when nats.external.enabled" $root.Values.nats.external.url) -}}
{{- else -}}
{{- $urls = list (printf "%s://%s:4222" (ternary "tls" "nats" (eq (include "orderflow.nats.tls" $root) "true")) (include "orderflow.nats.name" $root)) -}}
{{- end -}}
{{- $out := list -}}
{{- range $urls -}}
{{- $u := trim . -}}
{{- if $root.Values.nats.auth.enabled -}}
{{- $u = regexReplaceAll "^([a-z]+://)([^@/]*@)?" $u (printf "${1}%s:$$(NATS_PASSWORD)@" $.user) -}}
{{- end -}}
{{- $out = append $out $u -}}
{{- end -}}
{{- join "," $out -}}
{{- end -}}

{{/*
Where CockroachDB's certificates come from: "certManager", "selfSigner" or "secret" (your
tls.certsSecret), and the Secrets and keys of the node and root client certificates.
*/}}
{{- define "orderflow.cockroachdb.certs" -}}
{{- $db := .Values.cockroachdb -}}
{{- if $db.tls.certsSecret -}}
source: secret
node: {secret: {{ $db.tls.certsSecret }}, ca: ca.crt, crt: node.crt, key: node.key}
client: {secret: {{ $db.tls.certsSecret }}, ca: ca.crt, crt: client.root.crt, key: client.root.key}
{{- else -}}
source: {{ ternary "certManager" "selfSigner" .Values.tls.certManager.enabled }}
node: {secret: {{ include "orderflow.name" (dict "root" . "name" "cockroachdb-node") }}, ca: ca.crt, crt: tls.crt, key: tls.key}
client: {secret: {{ include "orderflow.name" (dict "root" . "name" "cockroachdb-client-root") }}, ca: ca.crt, crt: tls.crt, key: tls.key}
{{- end -}}
{{- end -}}

{{/* "true" when the release runs CockroachDB in secure mode (in-cluster, tls.enabled). */}}
{{- define "orderflow.cockroachdb.secure" -}}
{{- if and (not .Values.cockroachdb.external.enabled) .Values.cockroachdb.tls.enabled -}}true{{- end -}}
{{- end -}}

{{/*
The names a CockroachDB node certificate must hold: every name a client or a peer connects to
(the public and discovery Services in each DNS form, each pod's FQDN and its shorter forms, a
wildcard per form for pods added later) and localhost. A YAML list.
*/}}
{{- define "orderflow.cockroachdb.sans" -}}
{{- $name := include "orderflow.cockroachdb.name" . -}}
{{- $public := include "orderflow.cockroachdb.public" . -}}
{{- $ns := .Release.Namespace -}}
{{- $domain := .Values.clusterDomain -}}
- localhost
{{- range $svc := list $public $name }}
- {{ $svc }}
- {{ $svc }}.{{ $ns }}
- {{ $svc }}.{{ $ns }}.svc
- {{ $svc }}.{{ $ns }}.svc.{{ $domain }}
{{- end }}
{{- range $i, $_ := until (int .Values.cockroachdb.replicas) }}
- {{ $name }}-{{ $i }}.{{ $name }}
- {{ $name }}-{{ $i }}.{{ $name }}.{{ $ns }}
- {{ $name }}-{{ $i }}.{{ $name }}.{{ $ns }}.svc.{{ $domain }}
{{- end }}
- "*.{{ $name }}"
- "*.{{ $name }}.{{ $ns }}"
- "*.{{ $name }}.{{ $ns }}.svc.{{ $domain }}"
{{- end -}}

{{/* The names of the in-cluster NATS server certificate. A YAML list. */}}
{{- define "orderflow.nats.sans" -}}
{{- $name := include "orderflow.nats.name" . -}}
{{- $headless := include "orderflow.nats.headless" . -}}
{{- $ns := .Release.Namespace -}}
- localhost
- {{ $name }}
- {{ $name }}.{{ $ns }}
- {{ $name }}.{{ $ns }}.svc
- {{ $name }}.{{ $ns }}.svc.{{ .Values.clusterDomain }}
- "*.{{ $headless }}"
- "*.{{ $headless }}.{{ $ns }}"
- "*.{{ $headless }}.{{ $ns }}.svc.{{ .Values.clusterDomain }}"
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

{{/*
The NetworkPolicy of a hook Job's pod ({root, name, hook}): DNS and the Kubernetes API only. A
hook itself, so it exists before the Job on an upgrade (when the release's default deny does).
*/}}
{{- define "orderflow.hookNetworkPolicy" -}}
{{- $np := .root.Values.networkPolicy -}}
{{- if $np.enabled }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "orderflow.name" (dict "root" .root "name" .name) }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "orderflow.labels" (dict "root" .root "name" .name) | nindent 4 }}
  annotations:
    helm.sh/hook: {{ .hook }}
    helm.sh/hook-weight: "-10"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  podSelector:
    matchLabels:
      {{- include "orderflow.selectorLabels" (dict "root" .root "name" .name) | nindent 6 }}
  policyTypes: [Ingress, Egress]
  egress:
    - to:
        - namespaceSelector:
            {{- toYaml $np.dns.namespaceSelector | nindent 12 }}
          podSelector:
            {{- toYaml $np.dns.podSelector | nindent 12 }}
      ports:
        - {protocol: UDP, port: 53}
        - {protocol: TCP, port: 53}
    - to:
        {{- range $np.kubeApi.cidrs }}
        - ipBlock:
            cidr: {{ . }}
        {{- end }}
      ports:
        {{- range $np.kubeApi.ports }}
        - {protocol: TCP, port: {{ . }}}
        {{- end }}
{{- end }}
{{- end -}}
