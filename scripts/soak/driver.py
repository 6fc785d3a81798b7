#!/usr/bin/env python3
"""A bounded soak of two service instances on loopback: mixed traffic for a fixed time,
hostile clients a-f alongside it, memory sampled throughout, then an audit of the ledger.

Run by scripts/soak.sh, which starts Redis and the instances (tools/localstack) and passes
their addresses and pids in the environment:

    SOAK_A_URL, SOAK_B_URL     the instances (A has ADMIN_TOKEN set, B has none)
    SOAK_PIDS                  their pids, space-separated (A first)
    SOAK_REDIS_PORT, SOAK_PREFIX, SOAK_ADMIN_TOKEN
    SOAK_HOLD_LEASE_S, SOAK_HEADER_S, SOAK_BODY_S, SOAK_IDLE_S   the instances' settings

Traffic (per second, roughly; every actor stays under its rate limit except the greedy):
hits on a hot set of 30 fingerprints (40 actors), misses with a new seed (20 actors),
replays of idempotency keys and the odd key reused with another body (10 actors), misses
of actors without tokens (402), greedy actors (429), balance and ledger reads, admin grants.
Every request goes to A or B in turn. The hostile rounds (a-f, see hostile.py) repeat
every few seconds against both instances.

Writes, into --out: samples.csv (every --sample seconds: RSS of each instance, Redis
used_memory, ledger bytes and entries, keys), summary.json and report.md. Exit 0 when every
check holds, 1 otherwise.
"""

import argparse
import asyncio
import csv
import json
import os
import random
import sys
import time
import types
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "lib")]

import hostile  # noqa: E402
from clients import Closed, Http1  # noqa: E402
from resp import Redis  # noqa: E402

HOT_SET = [(f"demo_{e:03d}", seed) for e in range(1, 11) for seed in (1, 2, 3)]


class Instance:
    def __init__(self, name, url, pid, admin_token):
        parsed = urllib.parse.urlsplit(url)
        self.name, self.pid, self.admin_token = name, pid, admin_token
        self.host, self.port = parsed.hostname, parsed.port
        self.authority = f"{self.host}:{self.port}"


class Soak:
    def __init__(self, args, env):
        self.args = args
        self.deadline = None
        self.rng = random.Random(args.seed)
        self.prefix = env["SOAK_PREFIX"]
        self.admin_token = env["SOAK_ADMIN_TOKEN"]
        pids = env["SOAK_PIDS"].split()
        self.instances = [Instance("A", env["SOAK_A_URL"], pids[0], self.admin_token),
                          Instance("B", env["SOAK_B_URL"], pids[1], None)]
        self.limits = types.SimpleNamespace(
            header_s=float(env["SOAK_HEADER_S"]), body_s=float(env["SOAK_BODY_S"]),
            idle_s=float(env["SOAK_IDLE_S"]), hold_lease_s=float(env["SOAK_HOLD_LEASE_S"]))
        self.redis = Redis(int(env["SOAK_REDIS_PORT"]))
        self.tally = {}          # (class, outcome) -> count, legitimate and hostile alike
        self.hostile_tally = {}
        self.actors = set()
        self.turn = 0
        self.samples = []
        self.metrics_lines = {}  # instance -> [(t, lines, lines with method="other")]

    # --- helpers -------------------------------------------------------------------------
    def running(self):
        return time.monotonic() < self.deadline

    def next_instance(self):
        self.turn += 1
        return self.instances[self.turn % 2]

    def count(self, cls, response):
        outcome = str(response.status)
        if response.status >= 400 and response.code() in ("overloaded", "idempotency_key_mismatch"):
            outcome += f" {response.code()}"
        self.tally[(cls, outcome)] = self.tally.get((cls, outcome), 0) + 1

    async def paced(self, interval, step):
        """Calls step() every `interval` seconds (jittered) until the deadline."""
        await asyncio.sleep(self.rng.random() * interval)
        while self.running():
            started = time.monotonic()
            try:
                await step()
            except (Closed, ConnectionError, asyncio.TimeoutError) as err:
                key = ("transport errors", type(err).__name__)
                self.tally[key] = self.tally.get(key, 0) + 1
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    def conns(self):
        return {i.name: Http1(i.host, i.port) for i in self.instances}

    async def simulate(self, conns, cls, actor, body, key=None):
        inst = self.next_instance()
        headers = {"X-Actor-ID": actor}
        if key:
            headers["Idempotency-Key"] = key
        self.actors.add(actor)
        response = await conns[inst.name].json("POST", "/api/simulate", body, headers)
        self.count(cls, response)
        return response

    # --- legitimate traffic ------------------------------------------------------------
    async def grant(self, conn, actor, amount, key):
        response = await conn.json("POST", "/api/admin/grants",
                                   {"actor_id": actor, "amount": amount, "reason": "soak"},
                                   {"Authorization": f"Bearer {self.admin_token}", "Idempotency-Key": key})
        self.count("admin grant (and its replay)", response)
        self.actors.add(actor)

    def hit_actor(self, n):
        conns, actor = self.conns(), f"soak-hit-{n}"

        async def step():
            event, seed = self.rng.choice(HOT_SET)
            await self.simulate(conns, "hit (hot set)", actor,
                                {"event_id": event, "seed": seed, "iterations": 10000})
        return self.paced(0.25, step)

    def miss_actor(self, n):
        conns, actor = self.conns(), f"soak-miss-{n}"

        async def step():
            iterations = 100000 if self.rng.random() < 0.1 else 10000
            await self.simulate(conns, "miss (new seed)", actor,
                                {"event_id": f"demo_{self.rng.randint(1, 10):03d}",
                                 "seed": self.rng.randrange(2 ** 53), "iterations": iterations})
        return self.paced(1.0, step)

    def replay_actor(self, n):
        conns, actor = self.conns(), f"soak-replay-{n}"
        bodies = {}

        async def step():
            key = f"key-{self.rng.randrange(20)}"
            if key not in bodies:
                bodies[key] = {"event_id": f"demo_{self.rng.randint(1, 10):03d}",
                               "seed": self.rng.randrange(2 ** 53), "iterations": 10000}
            body = bodies[key]
            if self.rng.random() < 0.05:
                body = {**body, "seed": body["seed"] + 1}  # the key with another body: 422
            response = await self.simulate(conns, "replay (idempotency key)", actor, body, key)
            if response.headers.get("idempotent-replayed") == "true":
                self.tally[("replay (idempotency key)", "of which replayed")] = \
                    self.tally.get(("replay (idempotency key)", "of which replayed"), 0) + 1
        return self.paced(0.5, step)

    def poor_actor(self, n):
        conns, actor = self.conns(), f"soak-poor-{n}"

        async def step():
            # Half carry one of five keys, each with a seed of its own: its first use runs
            # (a 402 once the allowance is spent), later uses replay that answer.
            k = self.rng.randrange(5)
            key = f"poor-{k}" if self.rng.random() < 0.5 else None
            seed = 7_000_000 + 10 * n + k if key else self.rng.randrange(2 ** 53)
            await self.simulate(conns, "actor without tokens (miss)", actor,
                                {"event_id": "demo_002", "seed": seed, "iterations": 1000}, key)
        return self.paced(2.0, step)

    def greedy_actor(self, n):
        conns, actor = self.conns(), f"soak-greedy-{n}"

        async def step():
            for _ in range(40):
                inst = self.next_instance()
                response = await conns[inst.name].request("GET", "/api/events", {"X-Actor-ID": actor})
                self.count("greedy actor (over its limit)", response)
            self.actors.add(actor)
        return self.paced(8.0, step)

    def reader(self):
        conns = self.conns()

        async def step():
            actor = self.rng.choice(sorted(self.actors)) if self.actors else "soak-hit-0"
            inst = self.next_instance()
            path = self.rng.choice(["/api/balance", "/api/ledger?limit=20"])
            response = await conns[inst.name].request("GET", path, {"X-Actor-ID": actor})
            self.count("balance and ledger reads", response)
        return self.paced(0.5, step)

    def granter(self):
        conn = Http1(self.instances[0].host, self.instances[0].port)

        async def step():
            actor = f"soak-miss-{self.rng.randrange(20)}"
            key = f"soak-grant-{self.rng.randrange(1000)}"
            await self.grant(conn, actor, 10, key)
        return self.paced(5.0, step)

    # --- hostile rounds ----------------------------------------------------------------
    def hostile_loop(self, interval, make):
        async def step():
            for inst in self.instances:
                await make(inst)
        return self.paced(interval, step)

    def hostile_tasks(self):
        t, rng = self.hostile_tally, self.rng
        burst_actors = [f"soak-burst-{i}" for i in range(8)]
        self.actors.update(burst_actors)
        return [
            self.hostile_loop(5.0, lambda i: hostile.oversized(i, t)),
            self.hostile_loop(5.0, lambda i: hostile.unknown_methods(i, t, rng)),
            self.hostile_loop(3.0, lambda i: hostile.slow_clients(i, t, self.limits)),
            self.hostile_loop(15.0, lambda i: hostile.engine_burst(i, t, rng, burst_actors)),
            self.hostile_loop(5.0, lambda i: hostile.no_credentials(i, t, rng, "127.0.0.3")),
            self.hostile_loop(10.0, lambda i: hostile.anonymous_flood(i, t, "127.0.0.4")),
        ]

    # --- sampling ------------------------------------------------------------------------
    async def sample(self, t0):
        row = {"t_s": round(time.monotonic() - t0, 1)}
        for inst in self.instances:
            with open(f"/proc/{inst.pid}/status") as f:
                rss = next(line for line in f if line.startswith("VmRSS:"))
            row[f"rss_{inst.name}_kib"] = int(rss.split()[1])
        memory = self.redis.info("memory")
        row["redis_used_memory"] = int(memory["used_memory"])
        ledger_bytes = ledger_entries = 0
        for actor in sorted(self.actors):
            key = f"{self.prefix}:{{a:{actor}}}:ledger"
            ledger_bytes += self.redis.call("MEMORY", "USAGE", key, "SAMPLES", "0") or 0
            ledger_entries += self.redis.call("XLEN", key)
        row["ledger_bytes"] = ledger_bytes
        row["ledger_entries"] = ledger_entries
        row["redis_used_memory_less_ledger"] = row["redis_used_memory"] - ledger_bytes
        row["redis_keys"] = self.redis.call("DBSIZE")
        row["requests"] = sum(n for (cls, o), n in self.tally.items() if o[:1].isdigit()) + \
            sum(n for (_, o), n in self.hostile_tally.items())
        self.samples.append(row)
        print("sample", json.dumps(row), flush=True)

    async def metrics_count(self, t0):
        for inst in self.instances:
            conn = Http1(inst.host, inst.port)
            try:
                text = (await conn.request("GET", "/metrics")).body.decode()
            finally:
                conn.close()
            lines = text.splitlines()
            other = sum('method="other"' in line for line in lines)
            self.metrics_lines.setdefault(inst.name, []).append(
                (round(time.monotonic() - t0, 1), len(lines), other))

    async def sampler(self, t0):
        while self.running():
            await self.sample(t0)
            await self.metrics_count(t0)
            await asyncio.sleep(min(self.args.sample, max(0.0, self.deadline - time.monotonic())))

    # --- audit ---------------------------------------------------------------------------
    async def audit_actor(self, actor):
        conn = Http1(self.instances[0].host, self.instances[0].port)

        async def get(path):
            while True:
                response = await conn.request("GET", path, {"X-Actor-ID": actor})
                if response.status != 429:
                    return response
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
        try:
            balance = (await get("/api/balance")).json()["balance"]
            total, entries, cursor = 0, 0, None
            while True:
                path = "/api/ledger?limit=100" + (f"&cursor={cursor}" if cursor else "")
                page = (await get(path)).json()
                total += sum(e["amount"] for e in page["entries"])
                entries += len(page["entries"])
                cursor = page.get("next_cursor")
                if not cursor:
                    break
            holds = self.redis.call("HLEN", f"{self.prefix}:{{a:{actor}}}:holds")
            return {"actor": actor, "balance": balance, "ledger_sum": total, "entries": entries,
                    "open_holds": holds}
        finally:
            conn.close()

    async def audit(self):
        results = []
        actors = sorted(self.actors)
        for start in range(0, len(actors), 16):
            results += await asyncio.gather(*(self.audit_actor(a) for a in actors[start:start + 16]))
        return results

    # --- the run -------------------------------------------------------------------------
    async def run(self):
        t0 = time.monotonic()
        self.deadline = t0 + self.args.duration
        # Actors that spend get tokens first (they are then accounts an administrator made).
        conn = Http1(self.instances[0].host, self.instances[0].port)
        for group, count in (("hit", 40), ("miss", 20), ("replay", 10), ("burst", 8)):
            for n in range(count):
                await self.grant(conn, f"soak-{group}-{n}", 1_000_000, f"soak-start-{group}-{n}")
        conn.close()
        tasks = [self.sampler(t0)]
        tasks += [self.hit_actor(n) for n in range(40)]
        tasks += [self.miss_actor(n) for n in range(20)]
        tasks += [self.replay_actor(n) for n in range(10)]
        tasks += [self.poor_actor(n) for n in range(10)]
        tasks += [self.greedy_actor(n) for n in range(3)]
        tasks += [self.reader(), self.granter()]
        tasks += self.hostile_tasks()
        await asyncio.gather(*tasks)
        traffic_s = time.monotonic() - t0
        await self.sample(t0)
        await self.metrics_count(t0)
        # Holds of requests that never finished would be released after their lease: wait
        # it out, then every actor's ledger must add up to its balance with no hold open.
        await asyncio.sleep(self.limits.hold_lease_s + 1)
        audit = await self.audit()
        await self.sample(t0)
        return traffic_s, audit


def checks(soak, audit):
    """(description, passed, detail) of every check."""
    out = []
    bad = [a for a in audit if a["balance"] != a["ledger_sum"]]
    out.append(("ledger sum == balance for every actor touched", not bad,
                f"{len(audit)} actors, {sum(a['entries'] for a in audit)} entries; mismatches: {bad[:3]}"))
    held = [a for a in audit if a["open_holds"]]
    out.append(("no open hold after the hold lease", not held, f"actors with holds: {held[:3]}"))
    negative = [a for a in audit if a["balance"] < 0]
    out.append(("no negative balance", not negative, f"{negative[:3]}"))
    odd = hostile.unexpected(soak.hostile_tally)
    out.append(("every hostile client got the expected answer", not odd, f"unexpected: {odd}"))
    overloaded = soak.hostile_tally.get(("d engine queue burst", "503 overloaded"), 0)
    out.append(("a full engine queue answered 503 overloaded with Retry-After", overloaded > 0,
                f"{overloaded} refusals"))
    flood = soak.hostile_tally.get(("f anonymous flood", "429"), 0)
    out.append(("anonymous callers were rate limited by address", flood > 0, f"{flood} × 429"))
    for name, series in soak.metrics_lines.items():
        others = {o for _, _, o in series[1:]}
        out.append((f"instance {name}: method=\"other\" series flat after the first sample",
                    len(others) <= 1, f"/metrics lines (t, lines, other): first {series[0]}, "
                    f"second {series[1] if len(series) > 1 else '-'}, last {series[-1]}"))
    errors = {o: n for (c, o), n in soak.tally.items() if c == "transport errors"}
    out.append(("no transport error on legitimate traffic", not errors, f"{errors}"))
    legit_5xx = {(c, o): n for (c, o), n in soak.tally.items()
                 if o[:1] == "5" and o != "503 overloaded"}
    out.append(("no 5xx on legitimate traffic but 503 overloaded", not legit_5xx, f"{legit_5xx}"))
    return out


def report(summary, samples):
    """The run as Markdown: memory samples, every status count, the checks."""
    out = [f"Traffic for {summary['traffic_seconds']} s over instances A and B; "
           f"{summary['audit']['actors']} actors audited, {summary['audit']['entries']} ledger entries.", "",
           "| t (s) | RSS A (KiB) | RSS B (KiB) | Redis used_memory | of it ledger streams | ledger entries | keys | requests so far |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in samples:
        out.append(f"| {r['t_s']} | {r['rss_A_kib']} | {r['rss_B_kib']} | {r['redis_used_memory']:,} | "
                   f"{r['ledger_bytes']:,} | {r['ledger_entries']:,} | {r['redis_keys']:,} | {r['requests']:,} |")
    out += ["", "| traffic | outcome | count |", "|---|---|---:|"]
    for key, n in list(summary["statuses"].items()) + list(summary["hostile"].items()):
        cls, outcome = key.split(" | ", 1)
        out.append(f"| {cls} | {outcome} | {n:,} |")
    out += ["", "| check | result | detail |", "|---|---|---|"]
    for c in summary["checks"]:
        out.append(f"| {c['check']} | {'PASS' if c['passed'] else '**FAIL**'} | {c['detail']} |")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds of traffic")
    parser.add_argument("--sample", type=float, default=30, help="seconds between samples")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--out", required=True, help="directory for samples.csv, summary.json")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    soak = Soak(args, os.environ)
    traffic_s, audit = asyncio.run(soak.run())

    with open(os.path.join(args.out, "samples.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(soak.samples[0]))
        writer.writeheader()
        writer.writerows(soak.samples)
    results = checks(soak, audit)
    summary = {
        "traffic_seconds": round(traffic_s, 1),
        "statuses": {f"{c} | {o}": n for (c, o), n in sorted(soak.tally.items())},
        "hostile": {f"{c} | {o}": n for (c, o), n in sorted(soak.hostile_tally.items())},
        "metrics_lines": soak.metrics_lines,
        "audit": {"actors": len(audit), "entries": sum(a["entries"] for a in audit),
                  "mismatches": [a for a in audit if a["balance"] != a["ledger_sum"]],
                  "open_holds": sum(a["open_holds"] for a in audit)},
        "checks": [{"check": c, "passed": p, "detail": d} for c, p, d in results],
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(report(summary, soak.samples))
    for check, passed, detail in results:
        print(f"{'PASS' if passed else 'FAIL'}  {check}  ({detail})")
    sys.exit(0 if all(p for _, p, _ in results) else 1)


if __name__ == "__main__":
    main()
