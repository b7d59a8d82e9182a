-- Log store of the voting lab: one record per vote counted (the original project keeps these
-- in MongoDB). stream_id is the Redis stream entry's id: a vote delivered twice (a consumer
-- that died before acknowledging it) is logged once.
CREATE TABLE IF NOT EXISTS vote_log (
    stream_id   text PRIMARY KEY,
    band        text NOT NULL,
    name        text NOT NULL DEFAULT '',
    run         text NOT NULL DEFAULT '',
    producer    text NOT NULL DEFAULT '',
    consumer    text NOT NULL,
    received_at timestamptz,
    counted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS vote_log_run ON vote_log (run);
CREATE INDEX IF NOT EXISTS vote_log_counted_at ON vote_log (counted_at DESC);
