#!/usr/bin/env python3
"""Checks the capacity model against what this machine can run: paced mixes of the
service's operations against one and two instances, and for each the model's prediction
(from the measured unit costs in inputs.json and the requests the run actually sent) next
to what was measured: service CPU, Redis CPU, Redis memory growth, service memory growth.

Run by scripts/capacity/check.sh, which starts one Redis and two instances and passes
CHECK_URLS (comma-separated), CHECK_PIDS, CHECK_REDIS_PORT, CHECK_REDIS_PID, CHECK_PREFIX.
Prints a Markdown table; exit 1 when a prediction is off by more than --margin.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path[:0] = [HERE, os.path.join(ROOT, "scripts", "lib")]
import model  # noqa: E402
from measure_costs import cpu_seconds, rss_bytes  # noqa: E402
from resp import Redis  # noqa: E402

# name: (instances, connections per instance, delay ms between a connection's requests,
# seconds). The paced runs leave the CPUs mostly idle; the last one keeps them busy, the
# regime in which measure-costs.sh measured the unit costs and the one the model claims for
# CPU (a deployment sized at its target utilisation runs busy). Memory is judged in every run.
RUNS = {
    "one instance, paced, ~1 000 rps": (1, 10, 10, 30),
    "one instance, paced, ~2 500 rps": (1, 25, 10, 30),
    "two instances, paced, ~2 × 1 500 rps": (2, 15, 10, 30),
    "one instance, saturated (no pacing, 16 connections)": (1, 16, 0, 20),
}
KIND_TO_OP = {"hit": "hit_local", "miss": "miss", "replay": "replay",
              "denied_429": "denied_429", "read": "read"}


def post(url, body, headers):
    request = urllib.request.Request(url, data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def prime(urls, tag):
    """Every hot fingerprint in each instance's copy, and the replay keys' stored answers."""
    for url in urls:
        for n in range(20):
            post(url + "/api/simulate", '{"event_id":"demo_%03d","seed":%d,"iterations":10000}'
                 % (n % 10 + 1, n // 10 + 1), {"X-Actor-ID": f"{tag}-prime"})
    for k in range(50):
        post(urls[0] + "/api/simulate", '{"event_id":"demo_%03d","seed":%d,"iterations":10000}'
             % (k % 10 + 1, k % 2 + 1), {"X-Actor-ID": f"{tag}-r{k}", "Idempotency-Key": f"{tag}-k{k}"})


def count_keys(redis, pattern):
    n, cursor = 0, "0"
    while True:
        cursor, keys = redis.call("SCAN", cursor, "MATCH", pattern, "COUNT", 5000)
        n += len(keys)
        if cursor == "0":
            return n


def settle(redis):
    """used_memory once the rate buckets of the last requests have expired (they live until
    full again: 50 tokens at 600 a minute, 5 s)."""
    time.sleep(7)
    return int(redis.info("memory")["used_memory"])


def run(index, name, spec, env, redis, inputs, seed_base):
    instances, connections, delay, seconds = spec
    urls = env["CHECK_URLS"].split(",")[:instances]
    pids = env["CHECK_PIDS"].split()[:instances]
    # Actors of their own per run (and per invocation): every account a run counts is new.
    tag = f"r{index}-{seed_base // 10 ** 12 % 100000}"
    prime(urls, tag)
    memory0 = settle(redis)
    rss0 = sum(rss_bytes(p) for p in pids)
    svc0, red0 = sum(cpu_seconds(p) for p in pids), cpu_seconds(env["CHECK_REDIS_PID"])
    lua_env = {**os.environ, "LOAD_DIR": os.path.join(ROOT, "scripts", "load"), "TAG": tag,
               "DELAY_MS": str(delay), "SEED_BASE": str(seed_base), "ACTORS": "2000"}
    procs = [subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
                               "-s", os.path.join(ROOT, "scripts", "load", "mix.lua"), url],
                              env={**lua_env, "SEED_BASE": str(seed_base + i * 10 ** 11)},
                              stdout=subprocess.PIPE, text=True) for i, url in enumerate(urls)]
    outputs = [p.communicate(timeout=seconds + 60)[0] for p in procs]
    svc1, red1 = sum(cpu_seconds(p) for p in pids), cpu_seconds(env["CHECK_REDIS_PID"])
    rss1 = sum(rss_bytes(p) for p in pids)
    load = open("/proc/loadavg").read().split()[0]
    kinds, requests, duration = {}, 0, 0.0
    for out in outputs:
        for kv in re.search(r"^KINDS (.*)$", out, re.M).group(1).split():
            k, v = kv.split("=")
            kinds[k] = kinds.get(k, 0) + int(v)
        result = dict(kv.split("=") for kv in re.search(r"^RESULT (.*)$", out, re.M).group(1).split())
        requests += int(result["requests"])
        duration = max(duration, int(result["duration_us"]) / 1e6)
    memory1 = settle(redis)
    counts = {KIND_TO_OP[k]: n for k, n in kinds.items()}
    # The model: CPU from the unit costs; memory from the keys the run created, each at its
    # measured size (accounts are counted in Redis: an actor gets one on its first miss or read).
    service_s, redis_s, _, _ = model.cpu(inputs, counts)
    accounts = count_keys(redis, f"{env['CHECK_PREFIX']}:{{a:{tag}-a*}}:account")
    new_keys = {"accounts": accounts, "ledger_entries": counts.get("miss", 0),
                "cache_results": counts.get("miss", 0)}
    memory_bytes = sum(model.key_bytes(inputs, new_keys).values())
    per_result = inputs["measured"]["operations"]["miss_10k"]["service_rss_growth_per_result"]
    rss_model = counts.get("miss", 0) * per_result
    return {
        "name": name, "rps": requests / duration, "load": load, "kinds": kinds,
        "rows": [
            ("service CPU, cores", service_s / duration, (svc1 - svc0) / duration),
            ("Redis CPU, cores", redis_s / duration, (red1 - red0) / duration),
            ("Redis memory growth, MiB", memory_bytes / 2 ** 20, (memory1 - memory0) / 2 ** 20),
            ("service RSS growth, MiB", rss_model / 2 ** 20, (rss1 - rss0) / 2 ** 20),
        ],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--margin", type=float, default=0.25,
                        help="largest accepted |predicted / measured - 1| for CPU and Redis memory")
    parser.add_argument("--out", help="also write the results as JSON")
    parser.add_argument("--runs", help="comma-separated indexes of RUNS (default: all)")
    args = parser.parse_args()
    inputs = model.load_inputs()
    env = os.environ
    redis = Redis(int(env["CHECK_REDIS_PORT"]))
    chosen = list(RUNS.items())
    if args.runs:
        chosen = [chosen[int(i)] for i in args.runs.split(",")]
    results = []
    seed_base = int(time.time()) % 1000 * 10 ** 12
    for i, (name, spec) in enumerate(chosen):
        print(f"check: {name}", file=sys.stderr, flush=True)
        results.append(run(i, name, spec, env, redis, inputs, seed_base + i * 10 ** 12))
    failed = False
    print("| workload | measured rps | load (1 min) | quantity | predicted | measured | predicted / measured |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for r in results:
        for i, (what, predicted, measured) in enumerate(r["rows"]):
            ratio = predicted / measured if measured else float("inf")
            busy = r["name"].endswith("16 connections)")
            checked = what.startswith("Redis memory") or (busy and "CPU" in what)
            off = checked and abs(ratio - 1) > args.margin
            failed |= off
            head = (r["name"], f"{r['rps']:,.0f}", r["load"]) if i == 0 else ("", "", "")
            print(f"| {' | '.join(head)} | {what} | {predicted:.3f} | {measured:.3f} | "
                  f"{ratio:.2f}{' **off**' if off else ''}{'' if checked else ' (not judged)'} |")
    print(f"\nJudged: Redis memory growth in every run, CPU in the busy run; margin ±{args.margin:.0%}.")
    print("\nMix per run (requests): " + "; ".join(
        f"{r['name']}: " + ", ".join(f"{k} {v}" for k, v in sorted(r["kinds"].items())) for r in results))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
