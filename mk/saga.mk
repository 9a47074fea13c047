# Dead letters of the JetStream consumers (tools/deadletters). Against the system `make up` runs
# (the tool reads .run/endpoints.json, or $ORDERFLOW_RUN_DIR/endpoints.json), unless NATS_URL
# names another NATS. NATS_STREAM applies.
.PHONY: deadletters redrive

tools/deadletters/dist/main.js: $(wildcard tools/deadletters/src/*.ts)
	npx tsc -b tools/deadletters

deadletters: tools/deadletters/dist/main.js ## List the dead letters in ORDERS_DLQ (CONSUMER=<name> to filter)
	node tools/deadletters/dist/main.js list $(if $(CONSUMER),--consumer $(CONSUMER))

redrive: tools/deadletters/dist/main.js ## Re-drive one dead letter: make redrive SEQ=<dlq sequence>
	@test -n "$(SEQ)" || { echo "usage: make redrive SEQ=<dlq sequence>  (see make deadletters)"; exit 2; }
	node tools/deadletters/dist/main.js redrive $(SEQ)
