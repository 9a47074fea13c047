# Benchmarks (issue 8): not part of `make test`. See docs/performance.md.
.PHONY: bench bench-quick

bench: deps build ## Run the benchmarks (own PostgreSQL with fsync on, nats-server) and write bench/results/latest.{md,json}
	node bench/dist/main.js

bench-quick: deps build ## The benchmarks with short measurement windows (for trying changes out)
	node bench/dist/main.js --quick
