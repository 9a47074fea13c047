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
  database: orderflow_payment
  dbUser: payment
  owner: true
  migrate: true
  nats: true
  eventstore: true
  runtimeConfig: true
restaurant:
  name: restaurant
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
