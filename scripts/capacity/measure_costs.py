#!/usr/bin/env python3
"""Measures the unit costs of the capacity model on this machine (loopback only, bounded).

Run by scripts/capacity/measure-costs.sh, which starts one Redis and four instances
(tools/localstack) and passes them in the environment (CAP_<GROUP>_URL, CAP_<GROUP>_PID for
the groups MAIN, NOCOPY, LIMITED, POOR; CAP_REDIS_PORT, CAP_REDIS_PID, CAP_ADMIN_TOKEN).

For every operation (health, a hit from the instance's copy, a hit read from Redis, a
replay, a miss at 10 000 and at 1 000 000 iterations, a 402, a 429, a balance read), wrk
sends requests for a fixed time at a fixed concurrency (after a warm-up), and the costs are
divided by the number of requests it counted; around the run the script reads the
CPU time of the serving instance and of Redis (/proc/<pid>/stat), Redis INFO commandstats
and the bytes Redis read and wrote (INFO stats). A second, shorter pass of each operation
runs with SLOWLOG at threshold 0, which gives each script's server-side time and request
size. Last, MEMORY USAGE of every kind of key at the sizes the service writes.

Writes the result as JSON (--out); with --update FILE it also replaces the "measured"
block of the model's inputs file.
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))
from resp import Redis  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
HIT_BODY = '{"event_id":"demo_001","seed":42,"iterations":10000}'

# label: (group, wrk script, path, seconds, connections, environment, what it is)
OPERATIONS = {
    "health": ("MAIN", "get.lua", "/health", 8, 16, {}, "GET /health (no Redis)"),
    "hit_local": ("MAIN", "simulate-hit.lua", "/api/simulate", 8, 16,
                  {"ACTOR": "cap-hit"}, "cache hit from the instance's copy"),
    "hit_redis": ("NOCOPY", "simulate-hit.lua", "/api/simulate", 8, 16,
                  {"ACTOR": "cap-hit"}, "cache hit read from Redis (LOCAL_CACHE_BYTES=0)"),
    "replay": ("MAIN", "simulate-hit.lua", "/api/simulate", 8, 16,
               {"ACTOR": "cap-replay", "IDEMPOTENCY_KEY": "cap-key"}, "idempotent replay"),
    "miss_10k": ("MAIN", "simulate-miss.lua", "/api/simulate", 8, 16,
                 {"ITERATIONS": "10000", "SEED_BASE": "1000000000000"},
                 "miss computed here, 10 000 iterations"),
    "miss_1m": ("MAIN", "simulate-miss.lua", "/api/simulate", 8, 4,
                {"ITERATIONS": "1000000", "SEED_BASE": "2000000000000"},
                "miss computed here, 1 000 000 iterations"),
    "denied_402": ("POOR", "simulate-miss.lua", "/api/simulate", 8, 16,
                   {"ITERATIONS": "10000", "SEED_BASE": "3000000000000"},
                   "402 insufficient tokens (a miss the actor cannot pay)"),
    "denied_429": ("LIMITED", "simulate-hit.lua", "/api/simulate", 8, 16,
                   {"ACTOR": "cap-greedy"}, "429 rate limited (simulate, one actor)"),
    "balance": ("MAIN", "get.lua", "/api/balance", 8, 16,
                {"ACTOR": "cap-reader"}, "GET /api/balance"),
}


def script_names():
    """SHA-1 (as EVALSHA names it) -> script name, computed like src/store/scripts.rs does:
    the library parts, then the script's own file, joined by line breaks."""
    source = open(os.path.join(ROOT, "src", "store", "scripts.rs")).read()
    libs = {m.group(1): m.group(2) for m in re.finditer(r'lib!\((\w+) = "(\w+)"\)', source)}
    names = {}
    for m in re.finditer(r'script!\(\s*\w+ = "(\w+)",\s*libs\s*\[([^\]]*)\]', source):
        name, parts = m.group(1), [p.strip() for p in m.group(2).split(",") if p.strip()]
        texts = [open(os.path.join(ROOT, "lua", "lib", libs[p] + ".lua")).read() for p in parts]
        texts.append(open(os.path.join(ROOT, "lua", name + ".lua")).read())
        names[hashlib.sha1("\n".join(texts).encode()).hexdigest()] = name
    return names


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1]) * 1024


def http(method, url, body=None, headers=None):
    request = urllib.request.Request(url, data=body.encode() if body else None, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def wrk(url, script, seconds, connections, env):
    """Runs wrk for `seconds`; returns (requests, statuses, rps)."""
    threads = 2 if connections >= 2 else 1
    run_env = {**os.environ, **env, "LOAD_DIR": os.path.join(ROOT, "scripts", "load"),
               "COUNT_STATUS": "1"}
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "5s",
         "-s", os.path.join(ROOT, "scripts", "load", script), url],
        env=run_env, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    result = dict(kv.split("=") for kv in re.search(r"^RESULT (.*)$", out, re.M).group(1).split())
    statuses = dict(kv.split("=") for kv in re.search(r"^STATUS ?(.*)$", out, re.M).group(1).split())
    return int(result["requests"]), {k: int(v) for k, v in statuses.items()}, float(result["rps"])


def other_seeds(extra, offset):
    """The same environment with seeds no other pass uses (misses must stay misses)."""
    if "SEED_BASE" not in extra:
        return extra
    return {**extra, "SEED_BASE": str(int(extra["SEED_BASE"]) + offset)}


def measure(redis, env, label, spec):
    group, script, path, seconds, connections, extra, _ = spec
    base, pid = env[f"CAP_{group}_URL"], env[f"CAP_{group}_PID"]
    redis_pid = env["CAP_REDIS_PID"]
    # Warm-up: the instance's copy, connections, allocator (and the replay's stored answer).
    wrk(base + path, script, max(1, seconds / 4), connections, other_seeds(extra, 10 ** 14))
    redis.call("CONFIG", "RESETSTAT")
    stats0 = redis.info("stats")
    svc0, red0 = cpu_seconds(pid), cpu_seconds(redis_pid)
    n, statuses, rps = wrk(base + path, script, seconds, connections, extra)
    svc1, red1 = cpu_seconds(pid), cpu_seconds(redis_pid)
    stats1 = redis.info("stats")
    commands = redis.commandstats()
    commands.pop("config", None)
    commands.pop("info", None)
    net_in = int(stats1["total_net_input_bytes"]) - int(stats0["total_net_input_bytes"])
    net_out = int(stats1["total_net_output_bytes"]) - int(stats0["total_net_output_bytes"])
    return {
        "requests": n, "rps": rps, "connections": connections, "statuses": statuses,
        "service_cpu_us": round(1e6 * (svc1 - svc0) / n, 2),
        "redis_cpu_us": round(1e6 * (red1 - red0) / n, 2),
        "redis_commands_per_request": {c: round(calls / n, 3) for c, (calls, _) in commands.items()},
        # commandstats counts a script's inner commands twice (in EVALSHA and on their own).
        "redis_command_usec_per_request": {c: round(u / n, 2) for c, (_, u) in commands.items()},
        "redis_bytes_in_per_request": round(net_in / n, 1),
        "redis_bytes_out_per_request": round(net_out / n, 1),
    }


def slowlog_pass(redis, env, spec, names):
    """Each script's (and command's) server-side time and request size, from SLOWLOG."""
    group, script, path, _, connections, extra, _ = spec
    redis.call("CONFIG", "SET", "slowlog-max-len", 200000)
    redis.call("CONFIG", "SET", "slowlog-log-slower-than", 0)
    redis.call("SLOWLOG", "RESET")
    wrk(env[f"CAP_{group}_URL"] + path, script, 1, connections, other_seeds(extra, 2 * 10 ** 14))
    redis.call("CONFIG", "SET", "slowlog-log-slower-than", 10000)
    entries = redis.call("SLOWLOG", "GET", -1)
    redis.call("SLOWLOG", "RESET")
    per = {}
    for entry in entries:
        duration, args = entry[2], entry[3]
        command = args[0].lower()
        if command in ("config", "slowlog", "info"):
            continue
        name = names.get(args[1], "evalsha ?") if command == "evalsha" else command
        size = 0  # RESP request size; SLOWLOG shortens long arguments to 128 bytes + a note
        for arg in args:
            more = re.search(r"\.\.\. \((\d+) more bytes\)$", arg)
            length = 128 + int(more.group(1)) if more else len(arg.encode())
            size += len(str(length)) + length + 5
        size += len(str(len(args))) + 3
        slot = per.setdefault(name, {"calls": 0, "usec": 0, "bytes": 0})
        slot["calls"] += 1
        slot["usec"] += duration
        slot["bytes"] += size
    return {name: {"calls": v["calls"], "usec_per_call": round(v["usec"] / v["calls"], 2),
                   "request_bytes_per_call": round(v["bytes"] / v["calls"])}
            for name, v in sorted(per.items())}


def usage(redis, key):
    return redis.call("MEMORY", "USAGE", key, "SAMPLES", "0")


def first_key(redis, pattern):
    cursor = "0"
    while True:
        cursor, keys = redis.call("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
        if keys:
            return keys[0]
        if cursor == "0":
            raise RuntimeError(f"no key matches {pattern}")


def key_sizes(redis, env):
    """MEMORY USAGE of every kind of key, as the service writes them."""
    main, admin = env["CAP_MAIN_URL"], env["CAP_ADMIN_TOKEN"]
    auth = {"Authorization": f"Bearer {admin}"}
    # A long ledger: one actor, many computed misses (one spend entry each).
    wrk(main + "/api/simulate", "simulate-miss.lua", 3, 4,
        {"ITERATIONS": "1000", "SEED_BASE": "4000000000000", "ACTOR": "cap-ledger"})
    long_key = "main:{a:cap-ledger}:ledger"
    entries = redis.call("XLEN", long_key)
    http("GET", main + "/api/balance", headers={"X-Actor-ID": "cap-new"})  # 1 entry
    one = usage(redis, "main:{a:cap-new}:ledger")
    status, body = http("POST", main + "/api/admin/api-keys",
                        json.dumps({"actor_id": "cap-keyed", "label": "capacity"}), auth)
    assert status in (200, 201), (status, body)
    http("POST", main + "/api/admin/grants", json.dumps({"actor_id": "cap-granted", "amount": 5}),
         {**auth, "Idempotency-Key": "cap-grant"})
    http("GET", main + "/api/events")  # an anonymous caller's bucket
    # A computed miss with a key: its stored answer is a whole result.
    http("POST", main + "/api/simulate", '{"event_id":"demo_003","seed":77,"iterations":10000}',
         {"X-Actor-ID": "cap-keyed-miss", "Idempotency-Key": "cap-miss-key"})
    # An index of 200 keys: what one more record adds to it.
    for k in range(200):
        http("POST", main + "/api/simulate", HIT_BODY, {"X-Actor-ID": "cap-keys", "Idempotency-Key": f"k{k}"})
    # Holds and locks live for a request only; write one of the service's shape to size it.
    redis.call("HSET", "main:{a:cap-held}:holds", "3f1c2a9e-8d4b-4c3e-9a51-7b2f0e6d1c84",
               "1:1764450000000:6b1f0c2e-5a7d-4e93-8c21-0f4d9b3a7e15")
    redis.call("SET", "main:{c:" + "0" * 64 + "}:lock", "6b1f0c2e-5a7d-4e93-8c21-0f4d9b3a7e15",
               "PX", 10000)
    sizes = {
        "account": usage(redis, "main:{a:cap-reader}:account"),
        "ledger_stream_one_entry": one,
        "ledger_entry": round((usage(redis, long_key) - one) / (entries - 1), 1),
        "ledger_entries_measured": entries,
        "hold_hash_one_hold": usage(redis, "main:{a:cap-held}:holds"),
        "idempotency_record_hit": usage(redis, first_key(redis, "main:{a:cap-replay}:idem:*")),
        "idempotency_record_miss": usage(redis, first_key(redis, "main:{a:cap-keyed-miss}:idem:*")),
        "idempotency_index_one_member": usage(redis, "main:{a:cap-keyed-miss}:idem-index"),
        "idempotency_index_member": round((usage(redis, "main:{a:cap-keys}:idem-index")
                                           - usage(redis, "main:{a:cap-keyed-miss}:idem-index")) / 199, 1),
        "cache_result": usage(redis, first_key(redis, "main:{c:*}:result")),
        "cache_lock": usage(redis, "main:{c:" + "0" * 64 + "}:lock"),
        "rate_bucket_actor": usage(redis, "main:{a:cap-reader}:rate"),
        "rate_bucket_address": usage(redis, first_key(redis, "main:{ip:*}:rate")),
        "api_key": usage(redis, first_key(redis, "main:{k:*}:key")),
        "grant_marker": usage(redis, first_key(redis, "main:{a:cap-granted}:grant:*")),
        "cache_result_value_bytes": redis.call("STRLEN", first_key(redis, "main:{c:*}:result")),
    }
    redis.call("DEL", "main:{a:cap-held}:holds", "main:{c:" + "0" * 64 + "}:lock")
    return sizes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--update", help="the model's inputs file to refresh")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every measured time (0.25 for a quick look)")
    args = parser.parse_args()
    env = os.environ
    redis = Redis(int(env["CAP_REDIS_PORT"]))
    names = script_names()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    load_before = open("/proc/loadavg").read().split()[:3]
    # Prime: a result in the cache (and in MAIN's copy), a stored answer for the replay key,
    # the greedy actor's one admitted request.
    for group in ("MAIN", "NOCOPY", "LIMITED"):
        http("POST", env[f"CAP_{group}_URL"] + "/api/simulate", HIT_BODY, {"X-Actor-ID": "cap-greedy"})
    http("POST", env["CAP_MAIN_URL"] + "/api/simulate", HIT_BODY,
         {"X-Actor-ID": "cap-replay", "Idempotency-Key": "cap-key"})
    ops = {}
    rss_before_miss = rss_bytes(env["CAP_MAIN_PID"])
    for label, spec in OPERATIONS.items():
        spec = spec[:3] + (max(1.0, spec[3] * args.scale),) + spec[4:]
        print(f"measuring {label}: {spec[6]}", file=sys.stderr, flush=True)
        ops[label] = {"what": spec[6], **measure(redis, env, label, spec)}
        ops[label]["scripts"] = slowlog_pass(redis, env, spec, names)
        if label == "miss_10k":
            # What a result adds to the instance's RSS while its copy fills (the copy keeps
            # LOCAL_CACHE_BYTES, 64 MiB here: beyond that, new results replace old ones).
            value = redis.call("STRLEN", first_key(redis, "main:{c:*}:result")) + 64
            kept = min(ops[label]["requests"], (64 << 20) // value)
            ops[label]["service_rss_growth_per_result"] = round(
                (rss_bytes(env["CAP_MAIN_PID"]) - rss_before_miss) / kept, 1)
    result = {
        "run": {
            "started": started, "machine": f"{os.cpu_count()} CPUs, "
            + next(line.split(": ", 1)[1].strip() for line in open("/proc/cpuinfo")
                   if line.startswith("model name")),
            "redis": redis.info("server")["redis_version"],
            "load_average_before": load_before,
            "load_average_after": open("/proc/loadavg").read().split()[:3],
            "commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                     capture_output=True, text=True).stdout.strip(),
            "scale": args.scale,
        },
        "operations": ops,
        "memory_bytes": key_sizes(redis, env),
        "service_rss_bytes": {g: rss_bytes(env[f"CAP_{g}_PID"]) for g in ("MAIN", "NOCOPY")},
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    if args.update:
        with open(args.update) as f:
            inputs = json.load(f)
        inputs["measured"] = result
        with open(args.update, "w") as f:
            json.dump(inputs, f, indent=2)
            f.write("\n")
    print(json.dumps({k: (v["service_cpu_us"], v["redis_cpu_us"]) for k, v in ops.items()}))


if __name__ == "__main__":
    main()
