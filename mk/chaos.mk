.PHONY: chaos
chaos: deps build ## Fault-injection suite: 500 orders under SIGKILLs and NATS/PostgreSQL restarts, then the checker
	node tools/chaos/dist/main.js --orders $(or $(ORDERS),500)
