-- One row per order the saga follows. `state` is the workflow status after the last version the
-- saga read; `deadline` is when the current wait times out (NULL when nothing waits).
CREATE TABLE IF NOT EXISTS saga_instances (
  order_id UUID PRIMARY KEY,
  state TEXT NOT NULL,
  deadline TIMESTAMPTZ NULL,
  last_version INT8 NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS saga_instances_deadline_idx ON saga_instances (deadline);

-- The metrics (instances per state, oldest in-flight) read by state.
CREATE INDEX IF NOT EXISTS saga_instances_state_created_idx ON saga_instances (state, created_at);
