# The OrderFlow operator (services/operator, docs/operator.md).
.PHONY: operator-plan

CR ?= k8s/examples/orderflow.yaml
# No global NATS_URL default here: every mk/*.mk shares one namespace, and a default would hide
# the running system's NATS from the dead-letter targets (mk/saga.mk).
OPERATOR_PLAN_NATS = $(or $(NATS_URL),$(shell node -p "try{require('./$(or $(ORDERFLOW_RUN_DIR),.run)/endpoints.json').nats}catch{'nats://127.0.0.1:4222'}" 2>/dev/null))

operator-plan: node_modules/.installed ## Print what the operator would change: make operator-plan CR=<file> [NATS_URL=<url>]
	npx tsc -b tsconfig.build.json
	node services/operator/dist/main.js --dry-run --file $(CR) --nats $(OPERATOR_PLAN_NATS)
