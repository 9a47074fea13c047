-- Events, one row each; (stream_id, version) is unique so a concurrent append fails instead of
-- overwriting. UUID keys only: no sequences (one hot range on CockroachDB).
CREATE TABLE IF NOT EXISTS events (
  event_id UUID PRIMARY KEY,
  stream_id TEXT NOT NULL,
  version INT8 NOT NULL,
  event_type TEXT NOT NULL,
  data TEXT NOT NULL,
  metadata JSONB NOT NULL DEFAULT '{}'::JSONB,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT events_stream_version UNIQUE (stream_id, version)
);

CREATE INDEX IF NOT EXISTS events_created_at ON events (created_at, event_id);

-- The head of each stream: appends lock this row, so concurrent writers to one stream queue up
-- instead of racing for the same version.
CREATE TABLE IF NOT EXISTS streams (
  stream_id TEXT PRIMARY KEY,
  version INT8 NOT NULL
);

-- The outbox: a row per committed event not yet acknowledged by JetStream. Written in the same
-- transaction as the event; deleted after the publish is acknowledged.
CREATE TABLE IF NOT EXISTS outbox (
  event_id UUID PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS outbox_created_at ON outbox (created_at);
