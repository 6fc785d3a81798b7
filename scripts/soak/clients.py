"""Small clients for the soak: HTTP/1.1 over asyncio streams and HTTP/2 with prior knowledge
(h2c, through the `h2` package). Redis is read with scripts/lib/resp.py.

They are written for a harness, not for production: every call has a deadline, every
connection goes to a loopback address, and a response is read whole (status, headers,
body). The HTTP/1.1 client can also send what a hostile client sends: an invented method,
a declared length it never sends, chunks, or a head one byte at a time.
"""

import asyncio
import json
import socket

import h2.config
import h2.connection
import h2.events


class Closed(Exception):
    """The server closed the connection before a whole response arrived."""


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> last value
        self.body = body

    def json(self):
        return json.loads(self.body)

    def code(self):
        """The problem code of an error body, if it has one."""
        try:
            return self.json().get("code")
        except (ValueError, AttributeError):
            return None


async def open_stream(host, port, source="127.0.0.1", timeout=5.0):
    """A TCP connection from the loopback address `source` (other 127.x addresses give the
    service other client addresses, hence other anonymous rate-limit buckets)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((source, 0))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.sock_connect(sock, (host, port)), timeout)
    except BaseException:
        sock.close()
        raise
    return await asyncio.open_connection(sock=sock)


async def read_response(reader, timeout=10.0):
    """Reads one HTTP/1.1 response (Content-Length or chunked body)."""

    async def read():
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            body = b""
        return Response(status, headers, body)

    try:
        return await asyncio.wait_for(read(), timeout)
    except (asyncio.IncompleteReadError, ConnectionError) as err:
        raise Closed(str(err)) from err


def request_bytes(method, path, host, headers=None, body=b""):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body and not any(k.lower() in ("content-length", "transfer-encoding") for k in (headers or {})):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Http1:
    """One kept-alive HTTP/1.1 connection, reopened when the server closes it."""

    def __init__(self, host, port, source="127.0.0.1"):
        self.host, self.port, self.source = host, port, source
        self.reader = self.writer = None

    async def request(self, method, path, headers=None, body=b"", timeout=15.0):
        for attempt in (0, 1):
            if self.writer is None:
                self.reader, self.writer = await open_stream(self.host, self.port, self.source)
            try:
                self.writer.write(request_bytes(method, path, f"{self.host}:{self.port}", headers, body))
                await self.writer.drain()
                response = await read_response(self.reader, timeout)
                if response.headers.get("connection", "").lower() == "close":
                    self.close()
                return response
            except (Closed, ConnectionError):
                # A kept-alive connection the server had closed (idle timeout): one retry
                # on a new connection, as HTTP clients do for idempotent reuse failures.
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def json(self, method, path, payload, headers=None, timeout=15.0):
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        return await self.request(method, path, all_headers, json.dumps(payload).encode(), timeout)

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def h2c_post(host, port, path, body, headers, timeout=10.0):
    """One POST over HTTP/2 with prior knowledge; the body goes out in DATA frames as the
    flow-control window allows. Returns the response, or raises Closed."""
    reader, writer = await open_stream(host, port)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    stream = conn.get_next_available_stream_id()
    conn.send_headers(stream, [(":method", "POST"), (":path", path), (":scheme", "http"),
                               (":authority", f"{host}:{port}"), *headers])
    writer.write(conn.data_to_send())
    status, got_headers, data, sent, ended = None, {}, b"", 0, False

    async def pump():
        nonlocal status, data, sent, ended
        while True:
            # Send as much of the body as the windows allow (stop once a response came).
            while status is None and sent < len(body):
                room = min(conn.local_flow_control_window(stream), conn.max_outbound_frame_size,
                           len(body) - sent)
                if room <= 0:
                    break
                conn.send_data(stream, body[sent:sent + room], end_stream=sent + room == len(body))
                sent += room
            writer.write(conn.data_to_send())
            await writer.drain()
            chunk = await reader.read(65536)
            if not chunk:
                raise Closed("connection closed")
            for event in conn.receive_data(chunk):
                if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream:
                    for name, value in event.headers:
                        got_headers[name.decode().lower()] = value.decode()
                    status = int(got_headers[":status"])
                elif isinstance(event, h2.events.DataReceived) and event.stream_id == stream:
                    data += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, stream)
                elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)) \
                        and event.stream_id == stream:
                    ended = True
            if ended and status is not None:
                return Response(status, got_headers, data)
            if ended:
                raise Closed("stream reset before a response")

    try:
        return await asyncio.wait_for(pump(), timeout)
    finally:
        writer.close()
