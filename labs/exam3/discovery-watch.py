#!/usr/bin/env python3
"""Template watcher of exam 3 (the role consul-template plays with Consul): watches the
service's instances in the discovery service (etcd or ZooKeeper) and, whenever they change,
renders HAProxy's configuration from its template and reloads HAProxy.

With etcd it holds a watch on /services/<SERVICE>/ (etcd's v3 JSON gateway streams one JSON
object per line); with ZooKeeper, a children watch on the znode /services/<SERVICE> (kazoo's
ChildrenWatch, which sets the watch again after each event and each new session). So a replica
that registers, deregisters or whose lease or session expires is seen at once; the watcher also
lists the instances again every RESYNC seconds and after any error, so a lost watch never leaves
stale backends.

Configuration (/etc/default/discovery-watch): DISCOVERY (etcd's client URL `http://HOST:2379`
or ZooKeeper's `zk://HOST:2181`), SERVICE,
TEMPLATE (HAProxy configuration template; `$servers` is replaced with one `server` line per
instance), OUTPUT (HAProxy's configuration file).

`discovery-watch.py --once` renders the configuration once and exits without reloading.
"""
import base64
import json
import os
import signal
import string
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

DISCOVERY = os.environ.get("DISCOVERY", "http://127.0.0.1:2379").rstrip("/")
SERVICE = os.environ.get("SERVICE", "web")
TEMPLATE = os.environ.get("TEMPLATE", "/etc/haproxy/haproxy.cfg.tmpl")
OUTPUT = os.environ.get("OUTPUT", "/etc/haproxy/haproxy.cfg")
RESYNC = float(os.environ.get("RESYNC", "5"))
PIDFILE = os.environ.get("PIDFILE", "/run/haproxy.pid")  # Debian's haproxy.service: -p /run/haproxy.pid
PREFIX = f"/services/{SERVICE}/"
RANGE_END = PREFIX[:-1] + chr(ord(PREFIX[-1]) + 1)
ZOOKEEPER = DISCOVERY.startswith("zk://")

changed = threading.Event()


def log(message):
    print(message, flush=True)


def b64(text):
    return base64.b64encode(text.encode()).decode()


gateway = None


def post(path, body, timeout):
    """POST to etcd's v3 JSON gateway: /v3/ since etcd 3.4 (Debian 12, Ubuntu 24.04), /v3beta/
    in 3.3 (Ubuntu 22.04), /v3alpha/ in 3.2 (Ubuntu 20.04); the first that answers is kept."""
    global gateway
    if gateway is None:
        for prefix in ("v3", "v3beta", "v3alpha"):
            try:
                send(f"{prefix}/kv/range", {"key": b64(PREFIX)}, 5).close()
            except urllib.error.HTTPError as error:
                if error.code == 404:
                    continue
                raise
            gateway = prefix
            break
        else:
            raise RuntimeError(f"{DISCOVERY} serves no etcd v3 JSON gateway")
    return send(f"{gateway}/{path}", body, timeout)


def send(path, body, timeout):
    request = urllib.request.Request(
        f"{DISCOVERY}/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    return urllib.request.urlopen(request, timeout=timeout)


def instance(name, data):
    """(name, address, port) from a registered value, or None when it is not that JSON."""
    try:
        value = json.loads(data.decode())
        return name, value["address"], int(value["port"])
    except (ValueError, KeyError, TypeError, AttributeError):
        log(f"ignoring {PREFIX}{name}: its value is not {{address, port}} JSON")
        return None


def instances():
    """The registered instances as sorted (name, address, port) tuples, and the revision (etcd's
    store revision, or the ZooKeeper znode's child version)."""
    if ZOOKEEPER:
        return zookeeper_instances()
    with post("kv/range", {"key": b64(PREFIX), "range_end": b64(RANGE_END)}, 5) as response:
        answer = json.load(response)
    found = []
    for kv in answer.get("kvs", []):
        name = base64.b64decode(kv["key"]).decode()[len(PREFIX):]
        found.append(instance(name, base64.b64decode(kv.get("value", ""))))
    revision = int(answer.get("header", {}).get("revision", "0"))
    return sorted(item for item in found if item), revision


zookeeper_client = None
zookeeper_lock = threading.Lock()


def zookeeper():
    """The connected ZooKeeper client, started on first use (kazoo reconnects by itself)."""
    global zookeeper_client
    with zookeeper_lock:
        if zookeeper_client is None:
            from kazoo.client import KazooClient

            client = KazooClient(hosts=DISCOVERY[len("zk://"):].rstrip("/"), timeout=10)
            try:
                client.start(timeout=5)
            except Exception:
                client.close()
                raise
            zookeeper_client = client
        return zookeeper_client


def zookeeper_instances():
    from kazoo.exceptions import NoNodeError

    client = zookeeper()
    parent = PREFIX.rstrip("/")
    try:
        names, stat = client.get_children(parent, include_data=True)
    except NoNodeError:
        return [], 0
    found = []
    for name in names:
        try:
            data, _ = client.get(f"{parent}/{name}")
        except NoNodeError:
            continue  # left between the listing and the read
        found.append(instance(name, data))
    return sorted(item for item in found if item), stat.cversion


def watch():
    """Wakes the main loop on every change of the instances."""
    if ZOOKEEPER:
        watch_zookeeper()
    else:
        watch_etcd()


def watch_zookeeper():
    """Sets kazoo's ChildrenWatch on the service's znode, which then calls back on every change
    for the rest of the process; until ZooKeeper answers, tries again every second."""
    from kazoo.recipe.watchers import ChildrenWatch

    def on_change(children):
        changed.set()
        return True  # keep watching

    while True:
        try:
            client = zookeeper()
            client.ensure_path(PREFIX.rstrip("/"))
            ChildrenWatch(client, PREFIX.rstrip("/"), on_change)
            return
        except Exception:
            changed.set()  # list again; the main loop reports why ZooKeeper cannot be reached
            time.sleep(1)


def watch_etcd():
    """Wakes the main loop on every change under PREFIX; reconnects when the stream ends."""
    while True:
        try:
            body = {"create_request": {"key": b64(PREFIX), "range_end": b64(RANGE_END)}}
            # The stream stays open; a read timeout just means nothing changed for a while.
            with post("watch", body, 60) as stream:
                for line in stream:
                    result = json.loads(line).get("result", {})
                    if result.get("events") or result.get("canceled"):
                        changed.set()
                    if result.get("canceled"):
                        break
        except Exception:
            changed.set()  # list again; the main loop reports why etcd cannot be reached
            time.sleep(1)


def render(found):
    with open(TEMPLATE) as handle:
        template = string.Template(handle.read())
    servers = "\n".join(
        f"    server {name} {address}:{port} check inter 1s fall 2 rise 1"
        for name, address, port in found
    ) or "    # no instance registered"
    return template.substitute(servers=servers)


def apply(config, reload=True):
    """Writes the configuration if it changed, checks it, and reloads HAProxy."""
    current = None
    if os.path.exists(OUTPUT):
        with open(OUTPUT) as handle:
            current = handle.read()
    if current == config:
        return False
    with open(OUTPUT + ".new", "w") as handle:
        handle.write(config)
    check = subprocess.run(
        ["/usr/sbin/haproxy", "-c", "-q", "-f", OUTPUT + ".new"], capture_output=True, text=True
    )
    if check.returncode != 0:
        log(f"rendered configuration is invalid, keeping the old one: {check.stderr.strip()}")
        return False
    os.replace(OUTPUT + ".new", OUTPUT)
    if reload:
        reload_haproxy()
    return True


def reload_haproxy():
    """Reloads HAProxy as its unit's ExecReload does (SIGUSR2 to the master process, after the
    configuration check above): the new worker takes the new backends within milliseconds and
    the old one finishes its connections. Without a running master, systemctl starts it."""
    try:
        with open(PIDFILE) as handle:
            master = int(handle.read().split()[0])
        with open(f"/proc/{master}/cmdline", "rb") as handle:
            if b"haproxy" not in handle.read():
                raise ProcessLookupError(master)
        os.kill(master, signal.SIGUSR2)
    except (OSError, ValueError, IndexError):
        subprocess.run(["systemctl", "reload-or-restart", "haproxy"], check=False)


def once():
    """Renders the configuration from what etcd lists now, without reloading HAProxy (used
    before HAProxy's first start, so that it starts with the current backends)."""
    found, revision = instances()
    names = ", ".join(name for name, _, _ in found) or "none"
    apply(render(found), reload=False)
    log(f"{OUTPUT} rendered (revision {revision}): {names}")
    if zookeeper_client is not None:
        zookeeper_client.stop()


def main():
    threading.Thread(target=watch, daemon=True).start()
    last = None
    unreachable = False
    while True:
        changed.clear()
        try:
            found, revision = instances()
            if unreachable:
                log("discovery service reachable again")
                unreachable = False
            if found != last:
                names = ", ".join(name for name, _, _ in found) or "none"
                if apply(render(found)):
                    log(f"backends changed (revision {revision}): {names}; haproxy reloaded")
                else:
                    log(f"backends (revision {revision}): {names}")
                last = found
        except Exception as error:
            if not unreachable:
                log(f"discovery service not reachable: {error}")
                unreachable = True
            last = None
            time.sleep(1)
            continue
        changed.wait(RESYNC)


if __name__ == "__main__":
    if sys.argv[1:] == ["--once"]:
        once()
    else:
        main()
