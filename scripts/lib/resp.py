"""A blocking RESP client for the few reads the measuring scripts make of their own local
Redis (INFO, MEMORY USAGE, SLOWLOG, XLEN, ...). Standard library only; every call has a
deadline."""

import socket


class Redis:
    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.file = self.sock.makefile("rb")

    def call(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            raw = arg if isinstance(arg, bytes) else str(arg).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
        self.sock.sendall(b"".join(parts))
        return self._reply()

    def _reply(self):
        line = self.file.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("Redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.file.read(n + 2)[:-2].decode("utf-8", "replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError(f"unexpected RESP reply {line!r}")

    def info(self, section):
        """One INFO section as a dict of strings."""
        text = self.call("INFO", section)
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)

    def commandstats(self):
        """{command: (calls, usec)} from INFO commandstats."""
        out = {}
        for name, value in self.info("commandstats").items():
            fields = dict(kv.split("=", 1) for kv in value.split(","))
            out[name.removeprefix("cmdstat_")] = (int(fields["calls"]), int(fields["usec"]))
        return out

    def close(self):
        self.sock.close()
