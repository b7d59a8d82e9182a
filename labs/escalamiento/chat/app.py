#!/usr/bin/env python3
"""Chat web app of the scaling and load-balancing lab ("escalamiento"), in Python with
websockets 10 (Debian's python3-websockets) and stomp.py 8 (python3-stomp).

It is the sheet's WebSockets app with its message broker moved out of the process: every chat
message a browser sends over the WebSocket is published to ActiveMQ over STOMP (topic
/topic/chat, as `enableStompBrokerRelay("/topic/")` does in the Spring version), and every
message on that topic is pushed to every browser connected to this server. Run on two servers
behind NGINX, clients of one server see the messages of clients of the other.

One port serves both:
  GET /                  the chat page (HTML + JavaScript; it reconnects when its server dies)
  GET /whoami            "served by <server>"
  GET /health            JSON: server, broker state, connected clients
  GET /send?from=&text=  publishes a chat message (handy with curl)
  WebSocket (any path)   first message: the text "served by <server>"; then JSON chat
                         messages both ways: {"from", "text"} in, {"type": "chat", "id", "from",
                         "text", "server", "relayed"} out (server = the one the sender used)
Every HTTP response, and the WebSocket handshake, carries `X-Served-By: <server>`.

Configuration (/etc/default/app): SERVER (this server's name), PORT, BROKER_HOST,
BROKER_PORT (ActiveMQ's STOMP port, 61613), TOPIC (/topic/chat), and for a broker that wants
a login (CloudAMQP, the sheet's part 3) BROKER_USER, BROKER_PASSWORD, BROKER_VHOST. Nothing is
hard-wired (the sheet's part 2, step 7).
"""
import asyncio
import http
import json
import logging
import os
import signal
import threading
import time
import urllib.parse
import uuid

import stomp
import websockets

SERVER = os.environ.get("SERVER", os.uname().nodename)
PORT = int(os.environ.get("PORT", "8080"))
BROKER_HOST = os.environ.get("BROKER_HOST", "127.0.0.1")
BROKER_PORT = int(os.environ.get("BROKER_PORT", "61613"))
BROKER_USER = os.environ.get("BROKER_USER", "")  # ActiveMQ in the lab: no login
BROKER_PASSWORD = os.environ.get("BROKER_PASSWORD", "")
BROKER_VHOST = os.environ.get("BROKER_VHOST", "")  # CloudAMQP: the instance's user name
TOPIC = os.environ.get("TOPIC", "/topic/chat")
PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "index.html")

logging.basicConfig(level=logging.INFO, format="%(message)s")
logging.getLogger("websockets").setLevel(logging.WARNING)
logging.getLogger("stomp.py").setLevel(logging.CRITICAL)
log = logging.getLogger("app")

clients = set()
loop = None


def deliver(message):
    """Pushes one chat message (a dict) to every WebSocket client of this server."""
    websockets.broadcast(clients, json.dumps(message))


class Broker(stomp.ConnectionListener):
    """The STOMP connection to ActiveMQ, kept up by a thread of its own."""

    def __init__(self):
        self.connection = None
        self.connected = threading.Event()
        self.lock = threading.Lock()

    # stomp.py calls these from its receiver thread.
    def on_connected(self, frame):
        log.info(f"connected to ActiveMQ at {BROKER_HOST}:{BROKER_PORT} (STOMP), topic {TOPIC}")

    def on_disconnected(self):
        if self.connected.is_set():
            log.info("lost the connection to ActiveMQ; reconnecting")
        self.connected.clear()

    def on_error(self, frame):
        log.info(f"ActiveMQ error: {frame.headers.get('message', '')} {frame.body}")

    def on_message(self, frame):
        try:
            message = json.loads(frame.body)
        except ValueError:
            return
        loop.call_soon_threadsafe(deliver, message)

    def keep_connected(self):
        reported = False
        while True:
            if not self.connected.is_set():
                try:
                    connection = stomp.Connection12(
                        [(BROKER_HOST, BROKER_PORT)],
                        # Heart-beats both ways every 10 s: a broker that vanished
                        # without closing the connection is noticed. (No socket timeout:
                        # stomp.py would take a quiet connection for a dead one.)
                        heartbeats=(10000, 10000),
                        reconnect_attempts_max=1,
                        vhost=BROKER_VHOST or BROKER_HOST,
                        try_loopback_connect=False,  # STOMP listens on the host-only address only
                    )
                    connection.set_listener("relay", self)
                    if BROKER_USER:
                        connection.connect(BROKER_USER, BROKER_PASSWORD, wait=True)
                    else:
                        connection.connect(wait=True)
                    connection.subscribe(destination=TOPIC, id=f"chat-{SERVER}", ack="auto")
                    with self.lock:
                        self.connection = connection
                    self.connected.set()
                    reported = False
                except Exception as error:
                    if not reported:
                        log.info(f"ActiveMQ at {BROKER_HOST}:{BROKER_PORT} not reachable: {error!r}")
                        reported = True
            time.sleep(1)

    def publish(self, message):
        """Publishes to the topic; False when the broker is not reachable."""
        with self.lock:
            connection = self.connection
        if connection is None or not self.connected.is_set():
            return False
        try:
            connection.send(
                destination=TOPIC, body=json.dumps(message), content_type="application/json"
            )
            return True
        except Exception as error:
            log.info(f"publishing failed: {error!r}")
            self.connected.clear()
            return False

    def close(self):
        with self.lock:
            connection = self.connection
        if connection is not None:
            try:
                connection.disconnect()
            except Exception:
                pass


broker = Broker()


def chat(sender, text):
    """A chat message from a client of this server: through the broker to every server."""
    message = {
        "type": "chat",
        "id": uuid.uuid4().hex,
        "from": str(sender)[:64] or "anonymous",
        "text": str(text)[:2000],
        "server": SERVER,
        "relayed": True,
    }
    if not broker.publish(message):
        # Without the broker only this server's clients can see it; say so.
        message["relayed"] = False
        deliver(message)
    return message


async def handler(websocket, path=None):
    clients.add(websocket)
    log.info(f"client {websocket.remote_address} connected ({len(clients)} now)")
    try:
        await websocket.send(f"served by {SERVER}")
        async for raw in websocket:
            try:
                incoming = json.loads(raw)
                sender, text = incoming.get("from", "anonymous"), incoming.get("text", "")
            except (ValueError, AttributeError):
                sender, text = "anonymous", raw
            if text:
                chat(sender, text)
    except websockets.ConnectionClosed:
        pass
    finally:
        clients.discard(websocket)
        log.info(f"client {websocket.remote_address} left ({len(clients)} now)")


def respond(status, body, content_type="text/plain; charset=utf-8"):
    data = body.encode() if isinstance(body, str) else body
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(data))),
        ("Cache-Control", "no-store"),
        ("X-Served-By", SERVER),
        ("Connection", "close"),
    ]
    return status, headers, data


async def process_request(path, request_headers):
    """Plain HTTP GETs are answered here; WebSocket upgrades go on to `handler`."""
    if "websocket" in request_headers.get("Upgrade", "").lower():
        return None
    url = urllib.parse.urlsplit(path)
    query = urllib.parse.parse_qs(url.query)
    if url.path in ("/", "/index.html"):
        with open(PAGE) as handle:
            page = handle.read().replace("{{SERVER}}", SERVER)
        return respond(http.HTTPStatus.OK, page, "text/html; charset=utf-8")
    if url.path == "/whoami":
        return respond(http.HTTPStatus.OK, f"served by {SERVER}\n")
    if url.path == "/health":
        state = {
            "server": SERVER,
            "broker": "connected" if broker.connected.is_set() else "disconnected",
            "broker_address": f"{BROKER_HOST}:{BROKER_PORT}",
            "clients": len(clients),
        }
        return respond(http.HTTPStatus.OK, json.dumps(state) + "\n", "application/json")
    if url.path == "/send":
        text = query.get("text", [""])[0]
        if not text:
            return respond(http.HTTPStatus.BAD_REQUEST, "usage: /send?from=NAME&text=TEXT\n")
        message = chat(query.get("from", ["curl"])[0], text)
        return respond(http.HTTPStatus.OK, json.dumps(message) + "\n", "application/json")
    return respond(http.HTTPStatus.NOT_FOUND, f"not found (served by {SERVER})\n")


async def main():
    global loop
    loop = asyncio.get_running_loop()
    threading.Thread(target=broker.keep_connected, daemon=True).start()
    stop = loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set_result, None)
    async with websockets.serve(
        handler,
        "0.0.0.0",
        PORT,
        process_request=process_request,
        extra_headers={"X-Served-By": SERVER},
        ping_interval=20,
        ping_timeout=20,
    ):
        log.info(f"{SERVER}: chat app on port {PORT}, broker {BROKER_HOST}:{BROKER_PORT}")
        await stop
        log.info(f"{SERVER}: stopping (clients are told the server is going away)")
    broker.close()


if __name__ == "__main__":
    asyncio.run(main())
