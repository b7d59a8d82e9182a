#!/usr/bin/env python3
"""Flask microservice of exam 3: answers naming the replica that served the request and keeps
itself registered in the discovery service (etcd) while it runs.

Configuration comes from the environment (/etc/default/microservice, written by labctl):
REPLICA (this replica's name), ADDRESS (its address), PORT, DISCOVERY (etcd's client URL),
SERVICE (the service name registered under /services/<SERVICE>/).
"""
import base64
import json
import os
import signal
import sys
import threading
import time
import urllib.request

from flask import Flask, jsonify

REPLICA = os.environ.get("REPLICA", "unknown")
ADDRESS = os.environ.get("ADDRESS", "127.0.0.1")
PORT = int(os.environ.get("PORT", "5000"))
DISCOVERY = os.environ.get("DISCOVERY", "http://127.0.0.1:2379").rstrip("/")
SERVICE = os.environ.get("SERVICE", "web")
KEY = f"/services/{SERVICE}/{REPLICA}"
TTL = 10

app = Flask(__name__)


@app.route("/")
def index():
    return f"Hello from the {SERVICE} microservice, served by {REPLICA}\n"


@app.route("/api")
def api():
    return jsonify(replica=REPLICA, address=ADDRESS, service=SERVICE)


@app.route("/health")
def health():
    return "ok\n"


def etcd(path, body):
    request = urllib.request.Request(
        f"{DISCOVERY}/v3/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def b64(text):
    return base64.b64encode(text.encode()).decode()


class Registration:
    """Registers KEY with a lease and keeps the lease alive; revokes it on shutdown."""

    def __init__(self):
        self.lease = None
        self.stopped = threading.Event()

    def register(self):
        self.lease = etcd("lease/grant", {"TTL": TTL})["ID"]
        value = json.dumps({"address": ADDRESS, "port": PORT, "replica": REPLICA})
        etcd("kv/put", {"key": b64(KEY), "value": b64(value), "lease": self.lease})
        print(f"registered {KEY} -> {ADDRESS}:{PORT}", flush=True)

    def run(self):
        while not self.stopped.is_set():
            try:
                if self.lease is None:
                    self.register()
                else:
                    answer = etcd("lease/keepalive", {"ID": self.lease})
                    if int(answer.get("result", {}).get("TTL", "0")) <= 0:
                        self.lease = None
                        continue
            except Exception as error:  # the discovery service may not be up yet
                print(f"discovery service not reachable: {error}", flush=True)
                self.lease = None
            self.stopped.wait(TTL / 3)

    def revoke(self):
        self.stopped.set()
        if self.lease is not None:
            try:
                etcd("lease/revoke", {"ID": self.lease})
                print(f"deregistered {KEY}", flush=True)
            except Exception as error:
                print(f"could not deregister: {error}", flush=True)


registration = Registration()


def stop(signum, frame):
    registration.revoke()
    sys.exit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=registration.run, daemon=True).start()
    app.run(host="0.0.0.0", port=PORT, threaded=True)
