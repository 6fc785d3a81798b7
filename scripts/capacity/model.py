#!/usr/bin/env python3
"""Capacity model: from a workload to instances, Redis CPU and memory, shards and the first
bottleneck, using the unit costs measured by measure-costs.sh (all inputs in inputs.json).

    scripts/capacity/model.py                       # the reference workloads
    scripts/capacity/model.py --workload classroom  # one of them
    scripts/capacity/model.py --json '{"rate_rps": 5000, "actors": 20000}'   # your own
                                                    # (fields missing take the defaults below)

Standard library only. The arithmetic is in plain functions (cpu, memory, plan) that the
tests in test_model.py and the small-scale check (check.py) call directly.

Conventions: rates are per second at the peak the deployment must carry; memory is what
Redis holds in steady state (retained records live for their TTL at the average rate);
CPU costs are microseconds of CPU per request, measured on the machine named in
inputs.json ("measured.run"), scaled by the platform's speed-up factors.
"""

import argparse
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
INPUTS = os.path.join(HERE, "inputs.json")
GIB = 1024 ** 3
MIB = 1024 ** 2

# A workload's fields and their defaults (the reference workloads in inputs.json override).
DEFAULT_WORKLOAD = {
    "rate_rps": 1000.0,          # peak requests per second, every route
    "average_to_peak": 0.5,      # the day's average rate / the peak (retained records)
    # Shares of the requests (sum 1): cache hits, computed misses, idempotent replays,
    # 429s, 402s, reads of balance or ledger.
    "mix": {"hit": 0.9, "miss": 0.05, "replay": 0.01, "denied_429": 0.02,
            "denied_402": 0.01, "read": 0.01},
    "iterations": 10000,         # mean iterations of a computed miss
    "actors": 100000,            # accounts that exist
    "daily_active_share": 0.3,   # share of actors active on a given day
    "sims_per_active_actor_per_day": 10,  # computed (charged) simulations
    "idempotency_key_share": 0.1,  # share of simulate requests that carry a key
    "hot_fingerprints": 5000,    # distinct fingerprints that take the cache hits
    "hottest_fingerprint_share": 0.05,  # share of all hits on the single most popular one
    "ledger_days": 30,           # how many days of ledger history memory must hold
    "auth_mode": "api_key",      # api_key keeps every account; header expires idle ones
    "settings": {},              # overrides of inputs.json "settings"
}

OPS = ("hit_local", "hit_redis", "replay", "miss", "denied_402", "denied_429", "read")


def load_inputs(path=INPUTS):
    with open(path) as f:
        return json.load(f)


def workload(inputs, spec):
    """A complete workload: defaults, then `spec` (a dict, or the name of a reference)."""
    if isinstance(spec, str):
        spec = inputs["workloads"][spec]
    w = {**DEFAULT_WORKLOAD, **spec}
    mix = spec.get("mix", DEFAULT_WORKLOAD["mix"])
    unknown = set(mix) - set(DEFAULT_WORKLOAD["mix"])
    if unknown:
        raise ValueError(f"unknown kinds of request in the mix: {sorted(unknown)}")
    w["mix"] = {kind: float(mix.get(kind, 0.0)) for kind in DEFAULT_WORKLOAD["mix"]}
    w["settings"] = {**inputs["settings"], **spec.get("settings", {})}
    total = sum(w["mix"].values())
    if abs(total - 1) > 1e-6:
        raise ValueError(f"the mix must sum to 1, got {total}")
    return w


# --- unit costs ---------------------------------------------------------------------------

def unit_costs(inputs, iterations):
    """{op: (service CPU µs, Redis CPU µs, Redis bytes in, out)} per request, with the miss
    at `iterations` (linear between the two measured sizes: the engine is linear)."""
    ops = inputs["measured"]["operations"]
    p = inputs["platform"]

    def of(label):
        o = ops[label]
        return [o["service_cpu_us"] / p["service_cpu_speedup"], o["redis_cpu_us"] / p["redis_cpu_speedup"],
                o["redis_bytes_in_per_request"], o["redis_bytes_out_per_request"]]

    small, large = of("miss_10k"), of("miss_1m")
    slope = (large[0] - small[0]) / (1_000_000 - 10_000)
    miss = [small[0] + slope * (iterations - 10_000)] + small[1:]
    return {"hit_local": of("hit_local"), "hit_redis": of("hit_redis"), "replay": of("replay"),
            "miss": miss, "denied_402": of("denied_402"), "denied_429": of("denied_429"),
            "read": of("balance")}


def entry_bytes(inputs):
    """What one result weighs in the instance's copy (the copy's weigher counts the stored
    text and the fingerprint)."""
    return inputs["measured"]["memory_bytes"]["cache_result_value_bytes"] + 64


def rss_per_copy_byte(inputs):
    """Resident memory per byte the copy counts (allocator and cache bookkeeping included)."""
    per_result = inputs["measured"]["operations"]["miss_10k"]["service_rss_growth_per_result"]
    return max(1.0, per_result / entry_bytes(inputs))


def copy_share(inputs, w):
    """Share of hits the instance's copy serves: all of them while the hot set fits in
    LOCAL_CACHE_BYTES, else the part that fits (popularity within the hot set taken as
    uniform, which is the pessimistic case)."""
    if "hit_from_copy" in w:
        return w["hit_from_copy"]
    fits = w["settings"]["LOCAL_CACHE_BYTES"] / entry_bytes(inputs)
    return min(1.0, fits / max(1.0, w["hot_fingerprints"]))


def rates(inputs, w):
    """Requests per second of each operation."""
    r, mix = w["rate_rps"], w["mix"]
    share = copy_share(inputs, w)
    return {"hit_local": r * mix["hit"] * share, "hit_redis": r * mix["hit"] * (1 - share),
            "replay": r * mix["replay"], "miss": r * mix["miss"],
            "denied_402": r * mix["denied_402"], "denied_429": r * mix["denied_429"],
            "read": r * mix["read"]}


def cpu(inputs, counts, iterations=10000):
    """CPU seconds (service, Redis) and Redis bytes (in, out) for `counts` requests of each
    operation (or, given rates, CPU cores and bytes per second)."""
    costs = unit_costs(inputs, iterations)
    service = sum(counts[op] * costs[op][0] for op in counts) / 1e6
    redis = sum(counts[op] * costs[op][1] for op in counts) / 1e6
    bytes_in = sum(counts[op] * costs[op][2] for op in counts)
    bytes_out = sum(counts[op] * costs[op][3] for op in counts)
    return service, redis, bytes_in, bytes_out


# --- memory -------------------------------------------------------------------------------

def key_bytes(inputs, keys):
    """Bytes Redis holds for `keys`, a {kind: how many} (kinds as in the dict below)."""
    m = inputs["measured"]["memory_bytes"]
    per = {
        # An account's hash, and its ledger stream with its first entry.
        "accounts": m["account"] + m["ledger_stream_one_entry"],
        "api_keys": m["api_key"],
        "ledger_entries": m["ledger_entry"],
        "cache_results": m["cache_result"],
        # A stored answer (a whole result) and its member in the caller's index.
        "idempotency_records": m["idempotency_record_miss"] + m["idempotency_index_member"],
        "rate_buckets": m["rate_bucket_actor"],
        "holds_and_locks": m["hold_hash_one_hold"] + m["cache_lock"],
    }
    return {kind: n * per[kind] for kind, n in keys.items()}


def keys_held(inputs, w):
    """How many of each kind of key Redis holds in steady state under workload `w`."""
    s = w["settings"]
    r, mix = w["rate_rps"], w["mix"]
    average = r * w["average_to_peak"]
    active = w["actors"] * w["daily_active_share"]
    idle_days = s["IDLE_ACCOUNT_TTL_SECONDS"] / 86400
    # Accounts: API-key mode keeps every one; header mode forgets those idle past the TTL.
    api_key = w["auth_mode"] == "api_key"
    accounts = w["actors"] if api_key else min(w["actors"], active * max(1.0, idle_days))
    # Ledger: one spend per computed simulation and a daily grant per active day, never
    # trimmed: it grows by this much every day, for as long as the history is kept.
    entries = active * (w["sims_per_active_actor_per_day"] + 1) * w["ledger_days"]
    # Results: every fingerprint computed within CACHE_TTL_SECONDS at the peak miss rate, but
    # never more than the day's paid simulations.
    computed_per_day = active * w["sims_per_active_actor_per_day"]
    results = min(r * mix["miss"] * s["CACHE_TTL_SECONDS"], max(computed_per_day, 1.0))
    # Idempotency records: each keyed simulation that is not a replay keeps its answer for
    # IDEMPOTENCY_TTL_SECONDS (at the average rate), at most IDEMPOTENCY_MAX_KEYS per actor.
    keyed = average * (mix["hit"] + mix["miss"] + mix["denied_402"]) * w["idempotency_key_share"]
    records = min(keyed * s["IDEMPOTENCY_TTL_SECONDS"], w["actors"] * s["IDEMPOTENCY_MAX_KEYS"])
    # Rate buckets live until full again: burst / refill minutes after an actor's last request.
    window = 60 * s["RATE_LIMIT_BURST"] / s["RATE_LIMIT_PER_MINUTE"]
    buckets = min(active, r * window)
    # Holds and locks live for one computation (engine time and a few round trips, < 50 ms).
    return {"accounts": accounts, "api_keys": accounts if api_key else 0, "ledger_entries": entries,
            "cache_results": results, "idempotency_records": records, "rate_buckets": buckets,
            "holds_and_locks": r * mix["miss"] * 0.05}


def memory(inputs, w):
    """Redis memory in steady state, bytes, by kind of key (plus Redis's own base)."""
    held = key_bytes(inputs, keys_held(inputs, w))
    held["base"] = inputs["platform"]["redis_base_memory_bytes"]
    return held


# --- the plan -----------------------------------------------------------------------------

def plan(inputs, spec):
    """Everything the report prints, as a dict."""
    w = workload(inputs, spec)
    p, s = inputs["platform"], w["settings"]
    per_second = rates(inputs, w)
    service_cores, redis_cores, bytes_in, bytes_out = cpu(inputs, per_second, w["iterations"])
    instance_capacity = p["instance_cores"] * p["instance_target_utilisation"]
    instances = max(p["min_instances"], math.ceil(service_cores / instance_capacity))
    mem = memory(inputs, w)
    used = sum(mem.values())
    maxmemory = used / (1 - p["redis_memory_headroom"])
    shard_memory = p["redis_shard_max_memory_gib"] * GIB
    shards_cpu = math.ceil(redis_cores / p["redis_shard_cpu_budget"])
    shards_mem = math.ceil(maxmemory / shard_memory)
    shards = max(1, shards_cpu, shards_mem)
    # Per request, averaged over the mix: what one instance and one Redis node carry.
    rps_per_instance = w["rate_rps"] * instance_capacity / service_cores if service_cores else math.inf
    rps_per_redis_node = w["rate_rps"] * p["redis_shard_cpu_budget"] / redis_cores if redis_cores else math.inf
    limits = {"service instances": service_cores / instance_capacity,
              "Redis CPU (one node)": redis_cores / p["redis_shard_cpu_budget"],
              "Redis memory (one node)": maxmemory / shard_memory}
    first = max(limits, key=limits.get)
    # Hot keys. One fingerprint lives in one slot, so on one shard: without the instance's
    # copy every hit on it reads that shard; with the copy, each instance reads it once per
    # CACHE_TTL_SECONDS (admissions are per actor and spread over the slots).
    costs = unit_costs(inputs, w["iterations"])
    get_us = max(costs["hit_redis"][1] - costs["hit_local"][1], 0.1)
    hot_hits = w["rate_rps"] * w["mix"]["hit"] * w["hottest_fingerprint_share"]
    hot = {"hits_per_s": hot_hits,
           "shard_cpu_without_copy": hot_hits * get_us / 1e6,
           "reads_per_s_with_copy": instances / s["CACHE_TTL_SECONDS"],
           "max_hot_hits_per_shard_without_copy": p["redis_shard_cpu_budget"] * 1e6 / get_us,
           "max_denials_per_shard": p["redis_shard_cpu_budget"] * 1e6 / costs["denied_429"][1]}
    engine_ms = unit_costs(inputs, w["iterations"])["miss"][0] / 1e3
    rps_instance = w["rate_rps"] / instances
    latency_s = 0.002  # a hit's latency under load, from load-bench (p50 ≈ 1-2 ms)
    settings = {
        # The hot set with room to spare, never below the default.
        "LOCAL_CACHE_BYTES": max(s["LOCAL_CACHE_BYTES"],
                                 math.ceil(1.25 * w["hot_fingerprints"] * entry_bytes(inputs) / MIB) * MIB),
        "CACHE_TTL_SECONDS": s["CACHE_TTL_SECONDS"],
        "IDEMPOTENCY_TTL_SECONDS": s["IDEMPOTENCY_TTL_SECONDS"],
        "IDEMPOTENCY_MAX_KEYS": s["IDEMPOTENCY_MAX_KEYS"],
        "IDLE_ACCOUNT_TTL_SECONDS": s["IDLE_ACCOUNT_TTL_SECONDS"],
        "MAX_REQUESTS_IN_FLIGHT": max(512, math.ceil(rps_instance * latency_s * 8)),
        "ENGINE_QUEUE_MAX": max(64, math.ceil(w["rate_rps"] * w["mix"]["miss"] / instances * 0.5)),
        "HTTP_MAX_CONNECTIONS": max(1024, math.ceil(rps_instance * latency_s * 16)),
        "REDIS_TIMEOUT_MS": 500,
        "RATE_LIMIT_BURST": s["RATE_LIMIT_BURST"],
        "RATE_LIMIT_PER_MINUTE": s["RATE_LIMIT_PER_MINUTE"],
    }
    computed_per_day = w["actors"] * w["daily_active_share"] * w["sims_per_active_actor_per_day"]
    warnings = []
    if w["rate_rps"] * w["mix"]["miss"] * 86400 < computed_per_day:
        warnings.append("the peak miss rate is below the daily computed simulations' average")
    if engine_ms * w["rate_rps"] * w["mix"]["miss"] / instances / 1e3 > p["instance_cores"] * 0.8:
        warnings.append("the engine alone would keep an instance's cores busy")
    return {
        "workload": w, "rates": per_second,
        "service_cores": service_cores, "instances": instances,
        "rps_per_instance": rps_per_instance, "rps_per_redis_node": rps_per_redis_node,
        "redis_cores": redis_cores, "redis_bytes_in_per_s": bytes_in, "redis_bytes_out_per_s": bytes_out,
        "memory": mem, "redis_used_bytes": used, "redis_maxmemory_bytes": maxmemory,
        "ledger_growth_bytes_per_day": mem["ledger_entries"] / max(w["ledger_days"], 1),
        "shards_cpu": shards_cpu, "shards_memory": shards_mem, "shards": shards,
        "shape": "one Redis node (plus a replica)" if shards == 1
                 else f"Redis Cluster, {shards} primaries (each with a replica)",
        "first_bottleneck": first, "utilisation_of_one_unit": limits,
        "hot_key": hot, "copy_share": copy_share(inputs, w), "settings": settings,
        # An instance without a copy, plus a full copy at what a result measured in RSS.
        "service_rss_bytes": inputs["measured"]["service_rss_bytes"]["NOCOPY"]
        + settings["LOCAL_CACHE_BYTES"] * rss_per_copy_byte(inputs),
        "warnings": warnings,
    }


def gib(n):
    return f"{n / GIB:.2f} GiB" if n >= GIB / 10 else f"{n / MIB:.1f} MiB"


def report(inputs, name, r):
    w, p = r["workload"], inputs["platform"]
    lines = [f"== {name}: {w['rate_rps']:,.0f} rps, {w['actors']:,} actors, "
             f"{w['mix']['hit']:.0%} hits, {w['iterations']:,} iterations per miss",
             f"service: {r['service_cores']:.2f} cores -> {r['instances']} instances of "
             f"{p['instance_cores']} cores ({r['rps_per_instance']:,.0f} rps each at "
             f"{p['instance_target_utilisation']:.0%}); RSS ≈ {gib(r['service_rss_bytes'])} each",
             f"redis CPU: {r['redis_cores']:.2f} cores (one node carries ≈ {r['rps_per_redis_node']:,.0f} rps of this mix); "
             f"network in {r['redis_bytes_in_per_s'] / MIB:.1f} MiB/s, out {r['redis_bytes_out_per_s'] / MIB:.1f} MiB/s",
             f"redis memory: used {gib(r['redis_used_bytes'])}, maxmemory {gib(r['redis_maxmemory_bytes'])} "
             f"(noeviction headroom {p['redis_memory_headroom']:.0%}); ledger grows "
             f"{gib(r['ledger_growth_bytes_per_day'])}/day",
             "  " + ", ".join(f"{k} {gib(v)}" for k, v in r["memory"].items()),
             f"shape: {r['shape']} (CPU needs {r['shards_cpu']}, memory {r['shards_memory']})",
             f"first bottleneck: {r['first_bottleneck']} "
             f"({', '.join(f'{k} {v:.2f}' for k, v in r['utilisation_of_one_unit'].items())} of one unit)",
             f"hot fingerprint: {r['hot_key']['hits_per_s']:,.0f} hits/s on one slot; without the copy "
             f"{r['hot_key']['shard_cpu_without_copy']:.2f} cores of its shard, with it "
             f"{r['hot_key']['reads_per_s_with_copy']:.3f} reads/s (copy serves {r['copy_share']:.0%} of hits)",
             "settings: " + ", ".join(f"{k}={v}" for k, v in r["settings"].items())]
    lines += [f"warning: {w_}" for w_ in r["warnings"]]
    return "\n".join(lines)


# Sequential Redis round trips of each measured operation (docs/REDIS.md): the replay and the
# 429 were measured on a body the instance's copy holds, so their cache lookup is local.
ROUND_TRIPS = {"health": "0", "hit_local": "1", "hit_redis": "2", "replay": "1", "miss_10k": "6",
               "miss_1m": "6", "denied_402": "5", "denied_429": "1", "balance": "2"}


def costs_markdown(inputs):
    """The measured unit costs as the Markdown tables of docs/CAPACITY.md."""
    m = inputs["measured"]
    run = m["run"]
    out = [f"Run of {run['started']} on {run['machine']}, Redis {run['redis']}, commit {run['commit']}; "
           f"load average {' '.join(run['load_average_before'])} before, "
           f"{' '.join(run['load_average_after'])} after.", "",
           "| operation | round trips | requests | service CPU µs | Redis CPU µs | in scripts µs "
           "| bytes to Redis | bytes from Redis |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    scripts = {f[:-4] for f in os.listdir(os.path.join(HERE, "..", "..", "lua")) if f.endswith(".lua")}

    def in_scripts(o):
        """Server-side µs per request inside scripts (SLOWLOG: calls per request × µs)."""
        first = max((sc["calls"] for n, sc in o["scripts"].items() if n in scripts), default=0)
        return sum(sc["calls"] / first * sc["usec_per_call"]
                   for n, sc in o["scripts"].items() if n in scripts) if first else 0.0

    for label, o in m["operations"].items():
        out.append(f"| {o['what']} | {ROUND_TRIPS.get(label, '?')} | {o['requests']:,} | {o['service_cpu_us']:.1f} "
                   f"| {o['redis_cpu_us']:.1f} | {in_scripts(o):.1f} "
                   f"| {o['redis_bytes_in_per_request']:,.0f} | {o['redis_bytes_out_per_request']:,.0f} |")
    out += ["", "| operation | script (EVALSHA), or the plain GET | calls per request | µs per call (server side) "
            "| request bytes |", "|---|---|---:|---:|---:|"]
    for label, o in m["operations"].items():
        calls = {n: sc["calls"] for n, sc in o["scripts"].items() if n in scripts}
        first = max(calls.values(), default=1)
        for name, sc in o["scripts"].items():
            if name in scripts or (name == "get" and label == "hit_redis"):
                per = sc["calls"] / first if name in scripts else 1
                out.append(f"| {label} | {name} | {per:.2f} | {sc['usec_per_call']:.1f} "
                           f"| {sc['request_bytes_per_call']:,} |")
    out += ["", "| key | bytes (MEMORY USAGE) |", "|---|---:|"]
    for kind, n in m["memory_bytes"].items():
        out.append(f"| {kind} | {n:,} |")
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", default=INPUTS)
    parser.add_argument("--workload", help="a reference workload of the inputs file")
    parser.add_argument("--json", help="a workload as JSON (fields as DEFAULT_WORKLOAD)")
    parser.add_argument("--raw", action="store_true", help="print the plan as JSON")
    parser.add_argument("--costs", action="store_true", help="print the measured unit costs (Markdown)")
    args = parser.parse_args(argv)
    inputs = load_inputs(args.inputs)
    if args.costs:
        print(costs_markdown(inputs))
        return 0
    if args.json:
        todo = {"custom": json.loads(args.json)}
    elif args.workload:
        todo = {args.workload: args.workload}
    else:
        todo = {name: name for name in inputs["workloads"]}
    for name, spec in todo.items():
        r = plan(inputs, spec)
        print(json.dumps(r, indent=2, default=str) if args.raw else report(inputs, name, r))
        print()


if __name__ == "__main__":
    sys.exit(main())
