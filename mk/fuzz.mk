# Property-based fuzzing of the public edges (fast-check): generated HTTP requests through the
# running order API, generated gRPC arguments to the event store. `make test` runs a modest number
# of cases; this runs many more. FUZZ_SEED=<n> replays the run fast-check printed on a failure.
FUZZ_RUNS ?= 1000

.PHONY: fuzz

fuzz: deps ## Fuzz the order API and event store edges with FUZZ_RUNS cases per property (default 1000)
	FUZZ_RUNS=$(FUZZ_RUNS) $(if $(FUZZ_SEED),FUZZ_SEED=$(FUZZ_SEED)) npx jest --ci --selectProjects int --testPathPatterns 'fuzz\.int\.test\.ts$$'
