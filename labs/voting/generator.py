#!/usr/bin/env python3
"""Traffic generator of the voting lab (the role Locust plays in the original project), and the
lab's proof that every vote sent is counted.

    vote-generator [--votes N] [--concurrency C] [--producers URL,URL] [--check] ...

Sends N votes for the bands (a fixed, uneven split, so a mix-up between bands shows) to the
producers, spread round-robin over them, from C threads; a vote a producer does not accept
is tried again on the next producer (3 tries in all). Every vote carries a run tag (fresh
per run), which the consumers count separately (Redis hash votes:run:<run>), so a run is
measured on its own: nothing needs resetting, other traffic does not disturb it, and running
it again passes again.

With --check it then waits (up to --timeout seconds) until Redis counts exactly the votes the
producers accepted, in total and per band, and the log store (PostgreSQL, through the results
web app) holds exactly one record per vote; it prints what it found and exits 1 on any
difference. A vote a producer refused (not 202 after 3 tries) makes the check fail too.

Defaults come from the environment or /etc/default/vote-generator: PRODUCERS (comma-separated
URLs), REDIS_URL, WEB_URL, BANDS (comma-separated).
"""
import argparse
import concurrent.futures
import itertools
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import redis

DEFAULT_BANDS = "Alux Nahual,Bohemia Suburbana,Malacates Trebol Shop,Viernes Verde,Easy Easy"


def settings():
    """Environment first, then /etc/default/vote-generator."""
    values = {}
    try:
        with open("/etc/default/vote-generator") as handle:
            for line in handle:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, value = line.split("=", 1)
                    values[key.strip()] = value.strip().strip('"')
    except OSError:
        pass
    values.update({k: v for k, v in os.environ.items()
                   if k in ("PRODUCERS", "REDIS_URL", "WEB_URL", "BANDS")})
    return values


def plan(votes, bands):
    """Which band each vote goes to: weights 1..len(bands) (most to the first), interleaved."""
    weights = list(range(len(bands), 0, -1))
    share = [votes * w // sum(weights) for w in weights]
    for index in range(votes - sum(share)):
        share[index % len(bands)] += 1
    order = []
    left = dict(zip(bands, share))
    while any(left.values()):
        for band in bands:
            if left[band]:
                order.append(band)
                left[band] -= 1
    return order


def post(url, body, timeout):
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.load(response)


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def main():
    config = settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--producers", default=config.get("PRODUCERS", "http://127.0.0.1:8000"))
    parser.add_argument("--bands", default=config.get("BANDS", DEFAULT_BANDS))
    parser.add_argument("--redis", default=config.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--web", default=config.get("WEB_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--run", default=None, help="run tag (default: a fresh one)")
    parser.add_argument("--check", action="store_true",
                        help="verify the counts in Redis and the records in the log store")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()

    producers = [url.rstrip("/") for url in args.producers.split(",") if url.strip()]
    bands = [band.strip() for band in args.bands.split(",") if band.strip()]
    run = args.run or f"run-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    order = plan(args.votes, bands)
    targets = itertools.cycle(producers)
    jobs = [(index, band, next(targets)) for index, band in enumerate(order)]

    lock = threading.Lock()
    accepted = {band: 0 for band in bands}
    per_producer = {}
    refused = []

    def send(job):
        index, band, first = job
        body = {"band": band, "name": f"voter-{index + 1:05d}", "run": run}
        error = None
        start = producers.index(first)
        for attempt in range(3):
            # A producer that fails is skipped: the next try goes to the next producer.
            producer = producers[(start + attempt) % len(producers)]
            try:
                status, answer = post(f"{producer}/vote", body, 10)
                if status == 202:
                    with lock:
                        accepted[band] += 1
                        name = answer.get("producer", producer)
                        per_producer[name] = per_producer.get(name, 0) + 1
                    return
                error = f"HTTP {status}"
            except urllib.error.HTTPError as failure:
                error = f"HTTP {failure.code}"
            except OSError as failure:
                error = str(failure)
            time.sleep(0.2 * (attempt + 1))
        with lock:
            refused.append(f"vote {index + 1} ({band}), last tried on {producer}: {error}")

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.concurrency)) as pool:
        list(pool.map(send, jobs))
    elapsed = time.monotonic() - started
    sent = sum(accepted.values())
    spread = ", ".join(f"{name} {n}" for name, n in sorted(per_producer.items()))
    print(f"sent {sent}/{args.votes} votes (run {run}) to {len(producers)} producers in "
          f"{elapsed:.1f} s ({sent / max(elapsed, 1e-6):.0f}/s): {spread}")
    for line in refused[:10]:
        print(f"refused: {line}")
    if not args.check:
        return 0 if not refused else 1

    expected = {band: n for band, n in accepted.items() if n}
    store = redis.Redis.from_url(args.redis, decode_responses=True, socket_timeout=5)
    deadline = time.monotonic() + args.timeout
    counted = {}
    while True:
        try:
            counted = {band: int(n) for band, n in store.hgetall(f"votes:run:{run}").items()}
        except redis.RedisError as error:
            print(f"Redis not reachable: {error}")
        if counted == expected or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    logged = {}
    while True:
        try:
            logged = get_json(f"{args.web}/api/logs/count?run={run}").get("bands", {})
        except (OSError, ValueError) as error:
            print(f"log store not reachable: {error}")
        if logged == expected or time.monotonic() > deadline:
            break
        time.sleep(0.25)

    def describe(found):
        return ", ".join(f"{band} {found.get(band, 0)}/{expected.get(band, 0)}"
                         for band in sorted(set(expected) | set(found)))

    total_counted, total_logged = sum(counted.values()), sum(logged.values())
    waited = time.monotonic() - started - elapsed
    print(f"counted {total_counted}/{sent} in Redis (votes:run:{run}): {describe(counted)}")
    print(f"logged {total_logged}/{sent} in the log store (PostgreSQL): {describe(logged)}")
    ok = counted == expected and logged == expected and not refused and sent == args.votes
    print(f"{'OK' if ok else 'FAIL'}: every vote sent was {'counted and logged exactly once' if ok else 'NOT counted and logged exactly once'} "
          f"(waited {waited:.1f} s for the pipeline)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
