"""The hostile clients of the soak, a to f. Each function runs one round against one instance
and records what it saw in `tally` as (class, outcome) -> count, where an outcome is a
status code or a word ("cut" for a connection the server closed). `expect` names the
outcomes each class may have; anything else is a failure of the soak.
"""

import asyncio
import string
import time

from clients import Closed, Http1, h2c_post, open_stream, read_response, request_bytes

# Outcomes each class may produce; the report flags anything else.
EXPECT = {
    "a oversized body, Content-Length": {"413"},
    "a oversized body, chunked": {"413"},
    "a oversized body, HTTP/2": {"413"},
    "b unknown method": {"405"},
    "c trickled head": {"cut"},
    "c stalled body": {"408"},
    "c idle connection": {"cut"},
    "d engine queue burst": {"200", "503 overloaded"},
    "e admin without credentials (ADMIN_TOKEN set)": {"401"},
    "e admin without credentials (ADMIN_TOKEN unset)": {"404"},
    "e caller route without an actor": {"401"},
    "f anonymous flood": {"401", "429"},
}

OVERSIZE = 70_000  # > MAX_BODY_BYTES (65 536)


def note(tally, cls, outcome):
    tally[(cls, str(outcome))] = tally.get((cls, str(outcome)), 0) + 1


async def oversized(inst, tally):
    """a: a body over MAX_BODY_BYTES, declared, chunked and over HTTP/2."""
    body = b'{"pad":"' + b"x" * OVERSIZE + b'"}'
    headers = {"Content-Type": "application/json", "X-Actor-ID": "hostile-a"}
    for cls, extra, payload in (
        ("a oversized body, Content-Length", {}, body),
        ("a oversized body, chunked", {"Transfer-Encoding": "chunked"},
         b"".join(b"%x\r\n%s\r\n" % (len(part), part)
                  for part in (body[i:i + 8192] for i in range(0, len(body), 8192))) + b"0\r\n\r\n"),
    ):
        reader, writer = await open_stream(inst.host, inst.port)
        try:
            writer.write(request_bytes("POST", "/api/simulate", inst.authority, {**headers, **extra}, payload))
            try:
                await writer.drain()
            except ConnectionError:
                pass  # the server may answer and close before reading everything
            response = await read_response(reader)
            note(tally, cls, response.status)
        except Closed:
            note(tally, cls, "cut before a response")
        finally:
            writer.close()
    try:
        response = await h2c_post(inst.host, inst.port, "/api/simulate", body,
                                  [("content-type", "application/json"), ("x-actor-id", "hostile-a")])
        note(tally, "a oversized body, HTTP/2", response.status)
    except Closed:
        note(tally, "a oversized body, HTTP/2", "cut before a response")


async def unknown_methods(inst, tally, rng, count=20):
    """b: invented methods on real paths."""
    conn = Http1(inst.host, inst.port)
    try:
        for _ in range(count):
            method = "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(3, 12)))
            path = rng.choice(["/api/simulate", "/health", "/api/balance", "/api/events"])
            response = await conn.request(method, path, {"X-Actor-ID": "hostile-b"})
            note(tally, "b unknown method", response.status)
    finally:
        conn.close()


async def until_closed(reader, limit):
    """Seconds until the server closes the connection (None if it stays open `limit` s),
    and whether a response head arrived first."""
    start = time.monotonic()
    answered = False
    try:
        while time.monotonic() - start < limit:
            chunk = await asyncio.wait_for(reader.read(4096), limit - (time.monotonic() - start))
            if not chunk:
                return time.monotonic() - start, answered
            answered = answered or chunk.startswith(b"HTTP/1.1")
    except (asyncio.TimeoutError, ConnectionError):
        pass
    return None, answered


async def slow_clients(inst, tally, limits):
    """c: a head trickled a byte at a time, a body that stops, a connection left idle."""
    async def trickle():
        reader, writer = await open_stream(inst.host, inst.port)
        try:
            writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            start = time.monotonic()
            closed = False
            while time.monotonic() - start < limits.header_s + 10:
                try:
                    writer.write(b"X")
                    await writer.drain()
                except ConnectionError:
                    closed = True
                    break
                after, answered = await until_closed(reader, 0.5)
                if after is not None or answered:
                    closed = not answered
                    break
            note(tally, "c trickled head", "cut" if closed else "still open")
        finally:
            writer.close()

    async def stalled_body():
        reader, writer = await open_stream(inst.host, inst.port)
        try:
            writer.write(request_bytes("POST", "/api/simulate", inst.authority,
                                       {"Content-Type": "application/json", "X-Actor-ID": "hostile-c",
                                        "Content-Length": "200"}) + b'{"event_id":')
            await writer.drain()
            try:
                response = await read_response(reader, timeout=limits.body_s + 10)
                note(tally, "c stalled body", response.status)
            except (Closed, asyncio.TimeoutError):
                note(tally, "c stalled body", "no response")
        finally:
            writer.close()

    async def idle():
        reader, writer = await open_stream(inst.host, inst.port)
        try:
            after, answered = await until_closed(reader, limits.idle_s + 10)
            note(tally, "c idle connection", "cut" if after is not None and not answered else "still open")
        finally:
            writer.close()

    await asyncio.gather(trickle(), stalled_body(), idle())


async def engine_burst(inst, tally, rng, actors, size=48):
    """d: more 1 000 000-iteration simulations at once than the engine queue holds."""
    streams = await asyncio.gather(*(open_stream(inst.host, inst.port) for _ in range(size)))
    try:
        for i, (_, writer) in enumerate(streams):
            body = ('{"event_id":"demo_%03d","iterations":1000000,"seed":%d}'
                    % (rng.randint(1, 10), rng.randrange(2 ** 53))).encode()
            writer.write(request_bytes("POST", "/api/simulate", inst.authority,
                                       {"Content-Type": "application/json",
                                        "X-Actor-ID": actors[i % len(actors)]}, body))
        responses = await asyncio.gather(*(read_response(r, timeout=30) for r, _ in streams),
                                         return_exceptions=True)
        refused = 0
        for response in responses:
            if isinstance(response, Exception):
                note(tally, "d engine queue burst", "no response")
            elif response.status == 503:
                ok = response.code() == "overloaded" and int(response.headers.get("retry-after", "0")) >= 1
                note(tally, "d engine queue burst", "503 overloaded" if ok else "503 without Retry-After")
                refused += 1
            else:
                note(tally, "d engine queue burst", response.status)
        return refused
    finally:
        for _, writer in streams:
            writer.close()


async def no_credentials(inst, tally, rng, source):
    """e: admin routes without credentials, whatever the body; caller routes without an actor.
    Sent slowly from an address of their own, so its bucket never empties."""
    conn = Http1(inst.host, inst.port, source=source)
    admin = ("e admin without credentials (ADMIN_TOKEN set)" if inst.admin_token
             else "e admin without credentials (ADMIN_TOKEN unset)")
    try:
        for method, path, ctype, body in (
            ("POST", "/api/admin/grants", "application/json", b'{"actor_id":"x","amount":5}'),
            ("POST", "/api/admin/grants", "text/plain", b"not json at all"),
            ("POST", "/api/admin/api-keys", "application/xml", b"<a/>"),
            ("DELETE", "/api/admin/api-keys/nope", None, b""),
        ):
            headers = {"Content-Type": ctype} if ctype else {}
            if rng.random() < 0.5:
                headers["Authorization"] = "Bearer wrong-token-of-sufficient-length"
            response = await conn.request(method, path, headers, body)
            note(tally, admin, response.status)
        for method, path, body in (("POST", "/api/simulate", b'{"event_id":"demo_001"}'),
                                   ("GET", "/api/balance", b""), ("GET", "/api/ledger", b"")):
            response = await conn.request(method, path, {"Content-Type": "application/json"}, body)
            note(tally, "e caller route without an actor", response.status)
    finally:
        conn.close()


async def anonymous_flood(inst, tally, source, count=60):
    """f: many requests without credentials from one address: 401 until its bucket is
    empty, then 429."""
    conn = Http1(inst.host, inst.port, source=source)
    try:
        for _ in range(count):
            response = await conn.request("GET", "/api/balance")
            note(tally, "f anonymous flood", response.status)
    finally:
        conn.close()


def unexpected(tally):
    """(class, outcome, count) of every outcome outside EXPECT."""
    return [(cls, outcome, n) for (cls, outcome), n in sorted(tally.items())
            if outcome not in EXPECT.get(cls, set())]

