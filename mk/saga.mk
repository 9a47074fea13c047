# Dead letters of the JetStream consumers (tools/deadletters). NATS_URL and NATS_STREAM apply.
.PHONY: deadletters redrive

# Against the system `make up` runs, unless NATS_URL says otherwise.
deadletters redrive: export NATS_URL := $(or $(NATS_URL),$(shell node -p "try{require('./.run/endpoints.json').nats}catch{''}" 2>/dev/null))

tools/deadletters/dist/main.js: $(wildcard tools/deadletters/src/*.ts)
	npx tsc -b tools/deadletters

deadletters: tools/deadletters/dist/main.js ## List the dead letters in ORDERS_DLQ (CONSUMER=<name> to filter)
	node tools/deadletters/dist/main.js list $(if $(CONSUMER),--consumer $(CONSUMER))

redrive: tools/deadletters/dist/main.js ## Re-drive one dead letter: make redrive SEQ=<dlq sequence>
	@test -n "$(SEQ)" || { echo "usage: make redrive SEQ=<dlq sequence>  (see make deadletters)"; exit 2; }
	node tools/deadletters/dist/main.js redrive $(SEQ)
