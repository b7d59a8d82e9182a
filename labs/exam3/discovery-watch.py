#!/usr/bin/env python3
"""Template watcher of exam 3 (the role consul-template plays with Consul): watches the
service's instances in etcd and, whenever they change, renders HAProxy's configuration from
its template and reloads HAProxy.

Configuration (/etc/default/discovery-watch): DISCOVERY (etcd's client URL), SERVICE,
TEMPLATE (HAProxy configuration template), OUTPUT (HAProxy's configuration file).
"""
import base64
import json
import os
import string
import subprocess
import time
import urllib.request

DISCOVERY = os.environ.get("DISCOVERY", "http://127.0.0.1:2379").rstrip("/")
SERVICE = os.environ.get("SERVICE", "web")
TEMPLATE = os.environ.get("TEMPLATE", "/etc/haproxy/haproxy.cfg.tmpl")
OUTPUT = os.environ.get("OUTPUT", "/etc/haproxy/haproxy.cfg")
PREFIX = f"/services/{SERVICE}/"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def instances():
    """The registered instances as sorted (name, address, port) tuples."""
    range_end = PREFIX[:-1] + chr(ord(PREFIX[-1]) + 1)
    request = urllib.request.Request(
        f"{DISCOVERY}/v3/kv/range",
        data=json.dumps({"key": b64(PREFIX), "range_end": b64(range_end)}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        answer = json.load(response)
    found = []
    for kv in answer.get("kvs", []):
        name = base64.b64decode(kv["key"]).decode()[len(PREFIX):]
        value = json.loads(base64.b64decode(kv["value"]).decode())
        found.append((name, value["address"], int(value["port"])))
    return sorted(found)


def render(found):
    with open(TEMPLATE) as handle:
        template = string.Template(handle.read())
    servers = "\n".join(
        f"    server {name} {address}:{port} check inter 1s fall 2 rise 1" for name, address, port in found
    ) or "    # no instance registered"
    return template.substitute(servers=servers)


def apply(config):
    current = None
    if os.path.exists(OUTPUT):
        with open(OUTPUT) as handle:
            current = handle.read()
    if current == config:
        return False
    with open(OUTPUT + ".new", "w") as handle:
        handle.write(config)
    os.replace(OUTPUT + ".new", OUTPUT)
    subprocess.run(["systemctl", "reload-or-restart", "haproxy"], check=False)
    return True


def main():
    last = None
    while True:
        try:
            found = instances()
            if found != last:
                if apply(render(found)):
                    names = ", ".join(name for name, _, _ in found) or "none"
                    print(f"backends changed: {names}; haproxy reloaded", flush=True)
                last = found
        except Exception as error:
            print(f"discovery service not reachable: {error}", flush=True)
        time.sleep(1)


if __name__ == "__main__":
    main()
