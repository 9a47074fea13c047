# Local observability (docs/observability.md): a Prometheus that scrapes the system `make up` runs.
.PHONY: observe observe-config observe-check

OBSERVE_PORT ?= 9091
OBSERVE_INTERVAL ?= 5s
OBSERVE_DIR ?= .run/prometheus

# One static target per ops endpoint of .run/endpoints.json, labelled `service` like a
# ServiceMonitor target (the services' own `service` label becomes `exported_service`), plus the
# chart's alert rules, so the dashboards' and alerts' queries work unchanged.
define OBSERVE_CONFIG_JS
const { resolve } = require("path");
const e = require(resolve(".run/endpoints.json"));
const by = {};
for (const [name, ep] of Object.entries(e.services)) (by[name.replace(/-\d+$$/, "")] ??= []).push(new URL(ep.http).host);
const statics = Object.entries(by)
  .map(([s, hosts]) => `      - targets: [$${hosts.map((h) => JSON.stringify(h)).join(", ")}]\n        labels: { service: $${JSON.stringify(s)} }`)
  .join("\n");
const { OBSERVE_INTERVAL: i, RULES: rules } = process.env;
process.stdout.write(
  `global:\n  scrape_interval: $${i}\n  evaluation_interval: $${i}\nrule_files:\n  - $${JSON.stringify(rules)}\n` +
    `scrape_configs:\n  - job_name: orderflow\n    static_configs:\n$${statics}\n`,
);
endef
export OBSERVE_CONFIG_JS

observe-config: ## Write .run/prometheus/prometheus.yml from .run/endpoints.json (make up writes it)
	@test -f .run/endpoints.json || { echo "no .run/endpoints.json: start the system with 'make up' first" >&2; exit 1; }
	@mkdir -p $(OBSERVE_DIR)
	@OBSERVE_DIR="$(OBSERVE_DIR)" OBSERVE_INTERVAL="$(OBSERVE_INTERVAL)" RULES="$(CURDIR)/charts/orderflow/rules/orderflow.rules.yaml" node -e "$$OBSERVE_CONFIG_JS" > $(OBSERVE_DIR)/prometheus.yml
	@echo "wrote $(OBSERVE_DIR)/prometheus.yml"

observe: observe-config ## Prometheus on 127.0.0.1:9091 scraping the local system, with the alert rules (Ctrl-C stops it)
	@echo "Prometheus: http://127.0.0.1:$(OBSERVE_PORT) (alerts: /alerts, targets: /targets)"
	prometheus --config.file=$(OBSERVE_DIR)/prometheus.yml --storage.tsdb.path=$(OBSERVE_DIR)/data \
	  --web.listen-address=127.0.0.1:$(OBSERVE_PORT) --log.level=warn

observe-check: ## promtool: check and unit-test the alert rules
	promtool check rules charts/orderflow/rules/*.rules.yaml
	promtool test rules charts/orderflow/rules/tests/*.yaml
