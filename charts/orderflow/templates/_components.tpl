{{/*
The wiring of every orderflow service, as docs/conventions.md fixes it. Values only tune the
services (replicas, resources, env); ports, databases and who-talks-to-whom come from here, and
the Deployments, Services, NetworkPolicies and the CockroachDB init Job all read this one table.

  key          values key (eventstore, orderApi, ...)
  name         service name: the workload is `<release>-<name>`, the command `node services/<name>/dist/main.js`
  database     the database its DATABASE_URL names (order-api reads orderflow_query)
  dbUser       its SQL user
  owner        true when it owns the database (gets ALL); false: SELECT only
  migrate      run `main.js migrate` as an init container (services that own SQL tables)
  nats         uses NATS (NATS_URL; NATS_STREAM too unless jetstream: false)
  jetstream    false: NATS core only, no stream (the order API's live order feed)
  eventstore   calls the event store over gRPC (EVENTSTORE_ADDRESS)
  runtimeConfig  reads RUNTIME_CONFIG_FILE (the operator's <release>-runtime ConfigMap)
  kubeApi      talks to the Kubernetes API (service account token mounted)
  ports        its serving ports besides ops, with the variable that sets each
  durable      its JetStream durable consumer (NATS users: packages/platform/src/nats-auth.ts)
*/}}
{{- define "orderflow.components" -}}
eventstore:
  name: eventstore
  database: orderflow_eventstore
  dbUser: eventstore
  owner: true
  migrate: true
  nats: true
  ports:
    - {name: grpc, port: 50051, env: GRPC_PORT, appProtocol: grpc}
orderApi:
  name: order-api
  database: orderflow_query
  dbUser: order_api
  owner: false
  # The live order feed (GET /api/orders/:id/events): the query workers' announcements, NATS core.
  nats: true
  jetstream: false
  eventstore: true
  runtimeConfig: true
  env:
    CATALOG_FILE: /app/config/catalog.json
  ports:
    - {name: http, port: 8080, env: HTTP_PORT, appProtocol: http}
payment:
  name: payment
  durable: payment
  database: orderflow_payment
  dbUser: payment
  owner: true
  migrate: true
  nats: true
  eventstore: true
  runtimeConfig: true
restaurant:
  name: restaurant
  durable: restaurant
  database: orderflow_restaurant
  dbUser: restaurant
  owner: true
  migrate: true
  nats: true
  eventstore: true
  runtimeConfig: true
  env:
    CATALOG_FILE: /app/config/catalog.json
queryWorker:
  name: order-query-worker
  durable: order-query
  database: orderflow_query
  dbUser: order_query_worker
  owner: true
  migrate: true
  nats: true
  # `rebuild` reads every event through the event store's ReadAll (the rebuild Job).
  eventstore: true
  runtimeConfig: true
saga:
  name: saga
  durable: saga
  database: orderflow_saga
  dbUser: saga
  owner: true
  migrate: true
  nats: true
  eventstore: true
  runtimeConfig: true
operator:
  name: operator
  nats: true
  kubeApi: true
{{- end -}}

{{/* The component keys in install order. */}}
{{- define "orderflow.componentKeys" -}}
eventstore orderApi payment restaurant queryWorker saga operator
{{- end -}}

{{/* Whether a component is installed: {root, key} -> "true" or "" */}}
{{- define "orderflow.componentEnabled" -}}
{{- if or (ne .key "operator") .root.Values.operator.enabled -}}true{{- end -}}
{{- end -}}


{{/* The NATS users, in the order of NATS_USERS (packages/platform/src/nats-auth.ts). */}}
{{- define "orderflow.nats.users" -}}
eventstore payment restaurant order-query-worker saga operator order-api admin
{{- end -}}

{{/*
The authorization block of nats.conf: one user per service with exactly the subjects its work
needs, each password read from the server's environment ($NATS_PASSWORD_<USER>, from the auth
Secret). The same table, and the same text, as natsAuthorizationConf in
packages/platform/src/nats-auth.ts (which says why each subject is there); tests/k8s/nats.int.test.ts
checks that they agree.
*/}}
{{- define "orderflow.nats.authorization" -}}
{{- $stream := .Values.natsStream -}}
{{- $dlq := printf "%s_DLQ" $stream -}}
{{- $info := list "$JS.API.INFO" (printf "$JS.API.STREAM.INFO.%s" $stream) (printf "$JS.API.STREAM.INFO.%s" $dlq) -}}
{{- $catalog := include "orderflow.components" . | fromYaml -}}
{{- $perms := dict -}}
{{- $_ := set $perms "eventstore" (concat $info (list (printf "$JS.API.STREAM.CREATE.%s" $stream) (printf "$JS.API.STREAM.CREATE.%s" $dlq) "orderflow.events.>")) -}}
{{- range $key := list "payment" "restaurant" "queryWorker" "saga" -}}
{{- $w := get $catalog $key -}}
{{- $d := $w.durable -}}
{{- $_ := set $perms $w.name (concat $info (list
  (printf "$JS.API.CONSUMER.INFO.%s.%s" $stream $d)
  (printf "$JS.API.CONSUMER.CREATE.%s.%s" $stream $d)
  (printf "$JS.API.CONSUMER.CREATE.%s.%s.>" $stream $d)
  (printf "$JS.API.CONSUMER.DURABLE.CREATE.%s.%s" $stream $d)
  (printf "$JS.API.CONSUMER.MSG.NEXT.%s.%s" $stream $d)
  (printf "$JS.ACK.%s.%s.>" $stream $d)
  (printf "orderflow.deadletter.%s" $d))) -}}
{{- end -}}
{{- /* The query worker also announces what it projected (the order API's live streams). */ -}}
{{- $_ := set $perms "order-query-worker" (append (get $perms "order-query-worker") "orderflow.projected.order.*") -}}
{{- $subs := dict "order-api" (list "orderflow.projected.order.*") -}}
{{- $_ := set $perms "operator" (concat $info (list
  (printf "$JS.API.STREAM.CREATE.%s" $stream) (printf "$JS.API.STREAM.CREATE.%s" $dlq)
  (printf "$JS.API.STREAM.UPDATE.%s" $stream) (printf "$JS.API.STREAM.UPDATE.%s" $dlq)
  (printf "$JS.API.CONSUMER.INFO.%s.*" $stream)
  (printf "$JS.API.CONSUMER.CREATE.%s.>" $stream)
  (printf "$JS.API.CONSUMER.DURABLE.CREATE.%s.*" $stream))) -}}
authorization {
  users: [
{{- range $user := splitList " " (include "orderflow.nats.users" .) }}
{{- $var := printf "$NATS_PASSWORD_%s" ($user | upper | replace "-" "_") }}
{{- if eq $user "order-api" }}
    {user: "{{ $user }}", password: {{ $var }}, permissions: {publish: {deny: [">"]}, subscribe: {allow: [{{ range $i, $p := get $subs $user }}{{ if $i }},{{ end }}"{{ $p }}"{{ end }}]}}}
{{- else if hasKey $perms $user }}
    {user: "{{ $user }}", password: {{ $var }}, permissions: {publish: {allow: [{{ range $i, $p := get $perms $user }}{{ if $i }},{{ end }}"{{ $p }}"{{ end }}]}, subscribe: {allow: ["_INBOX.>"]}}}
{{- else }}
    {user: "{{ $user }}", password: {{ $var }}}
{{- end }}
{{- end }}
  ]
}
{{- end -}}
