#!/usr/bin/env python3
"""Results and logs web app of the voting lab (the roles of the original project's Grafana
dashboard over Redis and of its web app over MongoDB's logs).

  GET /                        live dashboard: votes per band (Redis), latest log records
  GET /api/results[?run=RUN]   {"total": n, "bands": {band: n}} from Redis (one run's counts
                               with ?run=)
  GET /api/logs?limit=N[&run=RUN]   latest log records from PostgreSQL, newest first
  GET /api/logs/count[?run=RUN]     {"count": n, "bands": {band: n}} from PostgreSQL

Configuration (/etc/default/vote-web): PORT, REDIS_URL, PG_DSN.
"""
import os

import psycopg2
import psycopg2.extras
import redis
from flask import Flask, jsonify, request

PORT = int(os.environ.get("PORT", "8080"))
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PG_DSN = os.environ.get("PG_DSN", "dbname=votes")
NAME = os.environ.get("NAME", os.uname().nodename)

counts = redis.Redis.from_url(REDIS_URL, decode_responses=True, socket_timeout=5,
                              socket_connect_timeout=3)
app = Flask(__name__)

PAGE = """<!DOCTYPE html>
<html lang="es">
<head><meta charset="utf-8"><title>Votaciones: bandas guatemaltecas</title>
<style>
 body { font-family: sans-serif; max-width: 48em; margin: 2em auto; }
 .bar { background: #4a7; color: white; padding: .2em .4em; margin: .2em 0; white-space: nowrap; }
 table { border-collapse: collapse; width: 100%; font-size: small; }
 td, th { border-bottom: 1px solid #ddd; padding: .2em .4em; text-align: left; }
</style></head>
<body>
<h1>Votes</h1>
<p>Live counts from Redis (refreshed every second); total: <b id="total">…</b></p>
<div id="bands"></div>
<h2>Latest votes (log store: PostgreSQL)</h2>
<table><thead><tr><th>counted</th><th>band</th><th>name</th><th>producer</th><th>consumer</th></tr></thead>
<tbody id="logs"></tbody></table>
<script>
async function refresh() {
  try {
    const results = await (await fetch("/api/results")).json();
    document.getElementById("total").textContent = results.total;
    const max = Math.max(1, ...Object.values(results.bands));
    const bands = document.getElementById("bands");
    bands.replaceChildren(...Object.entries(results.bands).sort((a, b) => b[1] - a[1]).map(([band, n]) => {
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.style.width = Math.max(12, 100 * n / max) + "%";
      bar.textContent = band + ": " + n;
      return bar;
    }));
    const logs = await (await fetch("/api/logs?limit=15")).json();
    document.getElementById("logs").replaceChildren(...logs.map((entry) => {
      const row = document.createElement("tr");
      for (const key of ["counted_at", "band", "name", "producer", "consumer"]) {
        const cell = document.createElement("td");
        cell.textContent = entry[key];
        row.appendChild(cell);
      }
      return row;
    }));
  } catch (error) { /* keep the last values; try again */ }
}
refresh();
setInterval(refresh, 1000);
</script>
</body></html>
"""


def database():
    return psycopg2.connect(PG_DSN, connect_timeout=5, application_name="vote-web")


@app.get("/")
def index():
    return PAGE


@app.get("/api/results")
def results():
    run = request.args.get("run", "")
    try:
        if run:
            bands = {band: int(n) for band, n in counts.hgetall(f"votes:run:{run}").items()}
            total = sum(bands.values())
        else:
            bands = {band: int(n) for band, n in counts.hgetall("votes:bands").items()}
            total = int(counts.get("votes:total") or 0)
    except redis.RedisError as error:
        return jsonify(error=f"Redis: {error}"), 503
    return jsonify(total=total, bands=bands, run=run or None)


@app.get("/api/logs")
def logs():
    limit = max(1, min(int(request.args.get("limit", "50")), 1000))
    run = request.args.get("run", "")
    query = ("SELECT stream_id, band, name, run, producer, consumer,"
             " to_char(received_at, 'YYYY-MM-DD\"T\"HH24:MI:SS.MSOF') AS received_at,"
             " to_char(counted_at, 'YYYY-MM-DD\"T\"HH24:MI:SS.MSOF') AS counted_at"
             " FROM vote_log {} ORDER BY counted_at DESC, stream_id DESC LIMIT %s")
    try:
        with database() as connection, connection.cursor(
                cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
            if run:
                cursor.execute(query.format("WHERE run = %s"), (run, limit))
            else:
                cursor.execute(query.format(""), (limit,))
            rows = cursor.fetchall()
    except psycopg2.Error as error:
        return jsonify(error=f"PostgreSQL: {error}"), 503
    return jsonify([dict(row) for row in rows])


@app.get("/api/logs/count")
def logs_count():
    run = request.args.get("run", "")
    try:
        with database() as connection, connection.cursor() as cursor:
            if run:
                cursor.execute("SELECT band, count(*) FROM vote_log WHERE run = %s GROUP BY band",
                               (run,))
            else:
                cursor.execute("SELECT band, count(*) FROM vote_log GROUP BY band")
            bands = {band: n for band, n in cursor.fetchall()}
    except psycopg2.Error as error:
        return jsonify(error=f"PostgreSQL: {error}"), 503
    return jsonify(count=sum(bands.values()), bands=bands, run=run or None)


if __name__ == "__main__":
    import logging
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"{NAME}: results and logs on port {PORT} (Redis {REDIS_URL}, PostgreSQL {PG_DSN})",
          flush=True)
    app.run(host="0.0.0.0", port=PORT, threaded=True)
