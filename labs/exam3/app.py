#!/usr/bin/env python3
"""Flask microservice of exam 3: answers naming the replica that served the request and keeps
itself registered in the discovery service (etcd or ZooKeeper) while it runs.

Configuration comes from the environment (/etc/default/microservice, written by labctl):
REPLICA (this replica's name), ADDRESS (its address on the lab network), PORT, DISCOVERY
(etcd's client URL `http://HOST:2379`, ZooKeeper's `zk://HOST:2181`, or `none` when a Consul
agent on the machine registers the replica from a service definition: the lab's
`discovery = "consul"` variant), SERVICE (the service name registered under
/services/<SERVICE>/) and HOSTNAME_AT_PROVISION (the machine's host name when it was
provisioned).

Registration, under /services/<SERVICE>/<REPLICA> (value: {"address", "port", "replica"}):
- etcd: a lease with a TTL of TTL seconds is granted, the key is written with that lease, and
  the lease is kept alive every TTL/3 seconds. Stopping the service revokes the lease.
- ZooKeeper: the key is an ephemeral znode of a session whose timeout is TTL seconds (kazoo, the
  Python client Debian packages as python3-kazoo); it is created again whenever a new session
  starts. Stopping the service deletes it and closes the session.
Either way a stopped instance leaves at once, and a replica that dies without saying so (power
cut, network gone) leaves when its lease or session expires. The watcher on the balancer sees
both and rewrites HAProxy's backends.

A machine cloned from a provisioned replica (e.g. `labctl clone web3 web4`) carries that
replica's configuration: if the host name or the address differs from what was provisioned,
the replica takes the machine's own host name (and address) instead of registering as a
duplicate of its parent.
"""
import base64
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from flask import Flask, jsonify

SERVICE = os.environ.get("SERVICE", "web")
PORT = int(os.environ.get("PORT", "5000"))
DISCOVERY = os.environ.get("DISCOVERY", "http://127.0.0.1:2379").rstrip("/")
TTL = int(os.environ.get("TTL", "10"))


def local_address_towards(url):
    """The address this machine uses to reach `url` (no packet is sent: UDP connect only)."""
    parsed = urllib.parse.urlsplit(url)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((parsed.hostname, parsed.port or 80))
        return probe.getsockname()[0]


def is_local(address):
    """Whether `address` is assigned to one of this machine's interfaces."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((address, 0))
        return True
    except OSError:
        return False


def identity():
    """(replica name, address) for this machine, detecting a clone of a provisioned replica."""
    replica = os.environ.get("REPLICA") or socket.gethostname()
    configured = os.environ.get("ADDRESS", "")
    provisioned_host = os.environ.get("HOSTNAME_AT_PROVISION", "")
    host = socket.gethostname()
    cloned = bool(provisioned_host) and host != provisioned_host
    if configured and not cloned:
        # Not a clone by its name: wait (at boot) for the provisioned address to come up.
        for _ in range(30):
            if is_local(configured):
                return replica, configured
            time.sleep(1)
    try:
        if DISCOVERY == "none":
            raise OSError("no discovery service to route towards")
        address = local_address_towards(DISCOVERY)
    except OSError:
        address = configured or "127.0.0.1"
    if cloned:
        replica = host  # the clone's own name, not its parent's
    elif configured and address != configured:
        replica = f"{replica}-{address.replace('.', '-')}"  # same host name, another address
    print(f"this machine is not the one provisioned as {os.environ.get('REPLICA')} "
          f"({configured}): registering as {replica} ({address})", flush=True)
    return replica, address


REPLICA, ADDRESS = identity()
KEY = f"/services/{SERVICE}/{REPLICA}"

app = Flask(__name__)


@app.route("/")
def index():
    return f"Hello from the {SERVICE} microservice, served by {REPLICA}\n"


@app.route("/api")
def api():
    return jsonify(replica=REPLICA, address=ADDRESS, port=PORT, service=SERVICE)


@app.route("/health")
def health():
    return "ok\n"


class QuietHealthChecks(logging.Filter):
    """HAProxy checks /health every second: keep those out of the access log."""

    def filter(self, record):
        return "GET /health " not in record.getMessage()


def post(url, body):
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


gateway = None


def etcd(path, body):
    """POST to etcd's v3 JSON gateway: /v3/ since etcd 3.4 (Debian 12, Ubuntu 24.04), /v3beta/
    in 3.3 (Ubuntu 22.04), /v3alpha/ in 3.2 (Ubuntu 20.04); the first that answers is kept."""
    global gateway
    if gateway is None:
        for prefix in ("v3", "v3beta", "v3alpha"):
            try:
                post(f"{DISCOVERY}/{prefix}/kv/range", {"key": b64(KEY)})
            except urllib.error.HTTPError as error:
                if error.code == 404:
                    continue
                raise
            gateway = prefix
            break
        else:
            raise RuntimeError(f"{DISCOVERY} serves no etcd v3 JSON gateway")
    return post(f"{DISCOVERY}/{gateway}/{path}", body)


def b64(text):
    return base64.b64encode(text.encode()).decode()


class EtcdRegistration:
    """Registers KEY with a lease and keeps the lease alive; revokes it on shutdown."""

    def __init__(self):
        self.lease = None
        self.stopped = threading.Event()
        self.lock = threading.Lock()

    def register(self):
        lease = etcd("lease/grant", {"TTL": TTL})["ID"]
        value = json.dumps({"address": ADDRESS, "port": PORT, "replica": REPLICA})
        etcd("kv/put", {"key": b64(KEY), "value": b64(value), "lease": lease})
        self.lease = lease
        print(f"registered {KEY} -> {ADDRESS}:{PORT} (lease {lease}, TTL {TTL}s)", flush=True)

    def run(self):
        reported = False
        while not self.stopped.is_set():
            try:
                with self.lock:
                    if self.stopped.is_set():
                        break
                    if self.lease is None:
                        self.register()
                    else:
                        answer = etcd("lease/keepalive", {"ID": self.lease})
                        if int(answer.get("result", {}).get("TTL", "0")) <= 0:
                            print(f"lease {self.lease} expired; registering again", flush=True)
                            self.lease = None
                            continue
                reported = False
            except Exception as error:  # the discovery service may not be up yet
                if not reported:
                    print(f"discovery service not reachable: {error}", flush=True)
                    reported = True
                self.lease = None
                self.stopped.wait(1)
                continue
            self.stopped.wait(TTL / 3)

    def revoke(self):
        self.stopped.set()
        with self.lock:
            if self.lease is not None:
                try:
                    etcd("lease/revoke", {"ID": self.lease})
                    print(f"deregistered {KEY}", flush=True)
                except Exception as error:
                    print(f"could not deregister (the lease expires in {TTL}s): {error}", flush=True)
                self.lease = None


class ZooKeeperRegistration:
    """Keeps KEY registered as an ephemeral znode of this process's ZooKeeper session; deletes
    it on shutdown. kazoo reconnects by itself; when the session expired meanwhile (the znode
    went with it) the next round creates the znode again."""

    def __init__(self):
        self.client = None
        self.stopped = threading.Event()
        self.lock = threading.Lock()

    def connect(self):
        from kazoo.client import KazooClient

        client = KazooClient(hosts=urllib.parse.urlsplit(DISCOVERY).netloc, timeout=TTL)
        try:
            client.start(timeout=5)
        except Exception:
            client.close()
            raise
        self.client = client

    def ours(self, stat):
        return stat is not None and stat.ephemeralOwner == self.client.client_id[0]

    def run(self):
        value = json.dumps({"address": ADDRESS, "port": PORT, "replica": REPLICA}).encode()
        reported = False
        while not self.stopped.is_set():
            try:
                with self.lock:
                    if self.stopped.is_set():
                        break
                    if self.client is None:
                        self.connect()
                    if self.client.connected and self.client.exists(KEY) is None:
                        # A znode left by an earlier session of this replica (a crash) is not
                        # ours: it goes when that session expires, and this loop then creates it.
                        self.client.create(KEY, value, ephemeral=True, makepath=True)
                        session = self.client.client_id[0]
                        print(f"registered {KEY} -> {ADDRESS}:{PORT} (ephemeral, session "
                              f"{session:#x}, timeout {TTL}s)", flush=True)
                reported = False
            except Exception as error:  # the discovery service may not be up yet
                if not reported:
                    print(f"discovery service not reachable: {error!r}", flush=True)
                    reported = True
                self.stopped.wait(1)
                continue
            self.stopped.wait(TTL / 3)

    def revoke(self):
        self.stopped.set()
        with self.lock:
            if self.client is None:
                return
            try:
                if self.ours(self.client.exists(KEY)):
                    self.client.delete(KEY)
                    print(f"deregistered {KEY}", flush=True)
            except Exception as error:
                print(f"could not deregister (the znode goes when the session expires in "
                      f"{TTL}s): {error!r}", flush=True)
            finally:
                self.client.stop()
                self.client.close()
                self.client = None


registration = ZooKeeperRegistration() if DISCOVERY.startswith("zk://") else EtcdRegistration()


def stop(signum, frame):
    registration.revoke()
    sys.exit(0)


if __name__ == "__main__":
    logging.getLogger("werkzeug").addFilter(QuietHealthChecks())
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if DISCOVERY != "none":
        threading.Thread(target=registration.run, daemon=True).start()
    app.run(host="0.0.0.0", port=PORT, threaded=True)
