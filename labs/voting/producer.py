#!/usr/bin/env python3
"""Vote producer of the voting lab: an HTTP API that accepts votes and enqueues them.

  POST /vote   {"band": "...", "name": "..."}  (JSON, or a form)  ->  202 {"queued": "<id>", ...}
               optional "run": a tag the traffic generator uses to count its own votes
  GET  /health JSON: producer name, queue reachable, votes queued since start
  GET  /       "served by <producer>"

Each vote becomes one entry of the Redis stream STREAM (the role Kafka's topic plays in the
original project) with the fields band, name, run, producer and received_at (ms since the
epoch). A vote is acknowledged (202) only once Redis has it.

Configuration (/etc/default/vote-producer): PRODUCER, PORT, REDIS_URL, STREAM.
"""
import logging
import os
import threading
import time

import redis
from flask import Flask, jsonify, request

PRODUCER = os.environ.get("PRODUCER", os.uname().nodename)
PORT = int(os.environ.get("PORT", "8000"))
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
STREAM = os.environ.get("STREAM", "votes")
MAX_FIELD = 200

queue = redis.Redis.from_url(REDIS_URL, socket_timeout=5, socket_connect_timeout=3,
                             health_check_interval=30)
app = Flask(__name__)
queued = 0
queued_lock = threading.Lock()


@app.get("/")
def index():
    return f"served by {PRODUCER}: POST /vote with {{\"band\": ..., \"name\": ...}}\n"


@app.get("/health")
def health():
    try:
        queue.ping()
        reachable = True
    except redis.RedisError:
        reachable = False
    return jsonify(producer=PRODUCER, queue="reachable" if reachable else "unreachable",
                   stream=STREAM, queued=queued), (200 if reachable else 503)


@app.post("/vote")
def vote():
    data = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    if not isinstance(data, dict):
        return jsonify(error="send a JSON object {\"band\": ..., \"name\": ...}"), 400
    band = str(data.get("band", "")).strip()
    name = str(data.get("name", "")).strip()
    run = str(data.get("run", "")).strip()
    if not band:
        return jsonify(error="`band` is required"), 400
    if len(band) > MAX_FIELD or len(name) > MAX_FIELD or len(run) > MAX_FIELD:
        return jsonify(error=f"fields are at most {MAX_FIELD} characters"), 400
    fields = {
        "band": band,
        "name": name,
        "run": run,
        "producer": PRODUCER,
        "received_at": str(int(time.time() * 1000)),
    }
    try:
        entry = queue.xadd(STREAM, fields)
    except redis.RedisError as error:
        return jsonify(error=f"the queue is not reachable: {error}"), 503
    global queued
    with queued_lock:
        queued += 1
    return jsonify(queued=entry.decode(), producer=PRODUCER, band=band), 202


def report():
    """One log line every 10 s while votes come in (not one per request)."""
    last = 0
    while True:
        time.sleep(10)
        if queued != last:
            logging.getLogger("producer").info(f"{PRODUCER}: {queued} votes queued on {STREAM}")
            last = queued


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    threading.Thread(target=report, daemon=True).start()
    print(f"{PRODUCER}: accepting votes on port {PORT}, queue {REDIS_URL} stream {STREAM}", flush=True)
    app.run(host="0.0.0.0", port=PORT, threaded=True)
