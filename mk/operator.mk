# The OrderFlow operator (services/operator, docs/operator.md).
.PHONY: operator-plan

CR ?= k8s/examples/orderflow.yaml
NATS_URL ?= nats://127.0.0.1:4222

operator-plan: node_modules/.installed ## Print what the operator would change: make operator-plan CR=<file> NATS_URL=<url>
	npx tsc -b tsconfig.build.json
	node services/operator/dist/main.js --dry-run --file $(CR) --nats $(NATS_URL)
