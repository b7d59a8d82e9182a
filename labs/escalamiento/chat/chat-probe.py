#!/usr/bin/env python3
"""Proves that the chat relays messages between servers through ActiveMQ (STOMP).

    chat-probe.py URL_A URL_B [--timeout SECONDS] [--one-way]

Opens a WebSocket to each URL (e.g. ws://192.168.56.31:8080/ws and ws://192.168.56.32:8080/ws),
reads each server's greeting ("served by <server>"), sends a chat message with a fresh token
on A and waits for it on B, then (unless --one-way) the other way round. Prints one line per
direction and exits 0 when every message arrived, 1 otherwise.

Uses only Debian's python3-websockets (10.x).
"""
import argparse
import asyncio
import json
import sys
import time
import uuid

import websockets


async def open_client(url, timeout):
    socket = await asyncio.wait_for(websockets.connect(url, open_timeout=timeout), timeout)
    greeting = await asyncio.wait_for(socket.recv(), timeout)
    if not greeting.startswith("served by "):
        raise RuntimeError(f"{url}: unexpected greeting {greeting!r}")
    return socket, greeting[len("served by "):].strip()


async def wait_for(socket, token, deadline):
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            raw = await asyncio.wait_for(socket.recv(), left)
        except asyncio.TimeoutError:
            return None
        try:
            message = json.loads(raw)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("text") == token:
            return message


async def one_way(sender, sender_name, receiver, receiver_name, timeout):
    token = f"probe-{uuid.uuid4().hex[:12]}"
    started = time.monotonic()
    await sender.send(json.dumps({"from": "chat-probe", "text": token}))
    message = await wait_for(receiver, token, started + timeout)
    if message is None:
        print(f"FAIL: {token} sent to {sender_name} never reached a client of {receiver_name} "
              f"within {timeout:g}s (is ActiveMQ up and are both apps connected to it?)")
        return False
    if not message.get("relayed"):
        print(f"FAIL: {token} reached {receiver_name} without the broker")
        return False
    elapsed = (time.monotonic() - started) * 1000
    print(f"relayed {token}: client of {sender_name} -> ActiveMQ -> client of {receiver_name} "
          f"in {elapsed:.0f} ms")
    return True


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url_a")
    parser.add_argument("url_b")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--one-way", action="store_true")
    args = parser.parse_args()
    try:
        a, name_a = await open_client(args.url_a, args.timeout)
        b, name_b = await open_client(args.url_b, args.timeout)
    except Exception as error:
        print(f"FAIL: cannot open the WebSockets: {error!r}")
        return 1
    print(f"connected: {args.url_a} (served by {name_a}), {args.url_b} (served by {name_b})")
    if name_a == name_b:
        print(f"note: both WebSockets are served by {name_a}")
    ok = await one_way(a, name_a, b, name_b, args.timeout)
    if ok and not args.one_way:
        ok = await one_way(b, name_b, a, name_a, args.timeout)
    await a.close()
    await b.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
