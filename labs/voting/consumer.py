#!/usr/bin/env python3
"""Vote consumer of the voting lab: reads the votes stream as a member of a consumer group,
keeps the live counts in Redis and writes one log record per vote to PostgreSQL.

Several consumers share the work as Kafka consumers of one group do: Redis hands each stream
entry to exactly one of them (XREADGROUP). Every vote is counted exactly once:

1. its log record is inserted keyed by the stream entry's id (a second insert is a no-op);
2. then, in one Redis transaction (MULTI/EXEC), the counts are incremented and the entry is
   acknowledged (XACK).

A consumer that dies between 1 and 2 leaves the entry pending: it reads its own pending entries
again when it restarts, and the others claim entries left pending longer than CLAIM_AFTER
seconds (XAUTOCLAIM), so no vote is lost and none is counted twice.

Counts (Redis, db of REDIS_URL):
  votes:bands        hash band -> votes
  votes:total        total votes
  votes:run:<run>    hash band -> votes of one generator run (expires after a day)
Malformed entries go to the stream votes:rejected.

Configuration (/etc/default/vote-consumer): CONSUMER, REDIS_URL, STREAM, GROUP, PG_DSN,
CLAIM_AFTER.
"""
import os
import signal
import sys
import time

import psycopg2
import psycopg2.extras
import redis

CONSUMER = os.environ.get("CONSUMER", os.uname().nodename)
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
STREAM = os.environ.get("STREAM", "votes")
GROUP = os.environ.get("GROUP", "counters")
PG_DSN = os.environ.get("PG_DSN", "dbname=votes")
CLAIM_AFTER = float(os.environ.get("CLAIM_AFTER", "30"))
BATCH = 200
RUN_TTL = 86400

stopping = False


def log(message):
    print(message, flush=True)


def stop(signum, frame):
    global stopping
    stopping = True


class Consumer:
    def __init__(self):
        self.redis = redis.Redis.from_url(REDIS_URL, decode_responses=True, socket_timeout=10,
                                          socket_connect_timeout=3)
        self.pg = None
        self.counted = 0
        self.last_claim = 0.0

    def connect(self):
        if self.pg is None or self.pg.closed:
            self.pg = psycopg2.connect(PG_DSN, connect_timeout=5,
                                       application_name=f"vote-consumer {CONSUMER}")
        try:
            self.redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
            log(f"created consumer group {GROUP} on {STREAM}")
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def process(self, entries):
        """Logs, counts and acknowledges a batch of (id, fields) stream entries."""
        good, rejected = [], []
        for entry_id, fields in entries:
            if fields is None:  # deleted from the stream while pending
                rejected.append((entry_id, {}))
            elif fields.get("band", "").strip():
                good.append((entry_id, fields))
            else:
                rejected.append((entry_id, fields))
        if good:
            with self.pg, self.pg.cursor() as cursor:
                psycopg2.extras.execute_values(
                    cursor,
                    "INSERT INTO vote_log (stream_id, band, name, run, producer, consumer, received_at)"
                    " VALUES %s ON CONFLICT (stream_id) DO NOTHING",
                    [
                        (
                            entry_id,
                            fields["band"].strip(),
                            fields.get("name", ""),
                            fields.get("run", ""),
                            fields.get("producer", ""),
                            CONSUMER,
                            int(fields.get("received_at") or time.time() * 1000) / 1000.0,
                        )
                        for entry_id, fields in good
                    ],
                    template="(%s, %s, %s, %s, %s, %s, to_timestamp(%s))",
                )
        pipe = self.redis.pipeline(transaction=True)
        for entry_id, fields in good:
            band = fields["band"].strip()
            pipe.hincrby("votes:bands", band, 1)
            pipe.incr("votes:total")
            if fields.get("run"):
                key = f"votes:run:{fields['run']}"
                pipe.hincrby(key, band, 1)
                pipe.expire(key, RUN_TTL)
        for entry_id, fields in rejected:
            pipe.xadd(f"{STREAM}:rejected", {"id": entry_id, **(fields or {}), "by": CONSUMER})
        pipe.xack(STREAM, GROUP, *[entry_id for entry_id, _ in entries])
        pipe.execute()
        self.counted += len(good)
        if rejected:
            log(f"rejected {len(rejected)} malformed entries (see {STREAM}:rejected)")

    def read(self, pending):
        """This consumer's pending entries (after a restart or an error), else new ones."""
        answer = self.redis.xreadgroup(GROUP, CONSUMER, {STREAM: "0" if pending else ">"},
                                       count=BATCH, block=None if pending else 2000)
        return answer[0][1] if answer else []

    def claim(self):
        """Takes over entries another consumer left pending too long."""
        if time.monotonic() - self.last_claim < CLAIM_AFTER / 3:
            return
        self.last_claim = time.monotonic()
        start = "0-0"
        while True:
            answer = self.redis.xautoclaim(STREAM, GROUP, CONSUMER, int(CLAIM_AFTER * 1000),
                                           start_id=start, count=BATCH)
            start, entries = answer[0], answer[1]
            if entries:
                log(f"claimed {len(entries)} entries left pending by another consumer")
                self.process(entries)
            if start == "0-0" or not entries:
                break

    def run(self):
        pending = True
        reported = None
        last_report, last_count = time.monotonic(), 0
        while not stopping:
            try:
                self.connect()
                if reported:
                    log("queue and log store reachable again")
                    reported = None
                entries = self.read(pending)
                if pending and not entries:
                    pending = False
                    continue
                if entries:
                    self.process(entries)
                self.claim()
            except (redis.RedisError, psycopg2.Error, OSError) as error:
                if str(error) != reported:
                    log(f"cannot process votes now ({type(error).__name__}: {error}); retrying")
                    reported = str(error)
                if self.pg is not None and not self.pg.closed:
                    try:
                        self.pg.rollback()
                    except psycopg2.Error:
                        self.pg.close()
                pending = True
                time.sleep(1)
            if time.monotonic() - last_report >= 10 and self.counted != last_count:
                log(f"{CONSUMER}: {self.counted} votes counted and logged")
                last_report, last_count = time.monotonic(), self.counted
        log(f"{CONSUMER}: stopping after {self.counted} votes")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"{CONSUMER}: consumer group {GROUP} on {REDIS_URL} stream {STREAM}; logs to {PG_DSN}")
    Consumer().run()
    sys.exit(0)
