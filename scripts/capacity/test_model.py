"""Tests of the capacity model (python3 -m unittest discover -s scripts/capacity).

Most use a small synthetic set of unit costs, so they test the arithmetic rather than one
machine's numbers; the last ones check that the committed inputs are complete and that the
reference workloads give the answers docs/CAPACITY.md states in kind (one node for the
classroom, a cluster for internet scale).
"""

import copy
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model  # noqa: E402


def op(service, redis, bytes_in=500, bytes_out=300):
    return {"service_cpu_us": service, "redis_cpu_us": redis,
            "redis_bytes_in_per_request": bytes_in, "redis_bytes_out_per_request": bytes_out}


SYNTHETIC = {
    "platform": {"instance_cores": 2, "instance_target_utilisation": 0.5, "min_instances": 2,
                 "service_cpu_speedup": 1.0, "redis_cpu_speedup": 1.0,
                 "redis_shard_cpu_budget": 0.5, "redis_shard_max_memory_gib": 10,
                 "redis_memory_headroom": 0.25, "redis_base_memory_bytes": 1_000_000},
    "settings": {"CACHE_TTL_SECONDS": 3600, "IDEMPOTENCY_TTL_SECONDS": 86400,
                 "IDEMPOTENCY_MAX_KEYS": 1000, "IDLE_ACCOUNT_TTL_SECONDS": 172800,
                 "LOCAL_CACHE_BYTES": 64 << 20, "RATE_LIMIT_BURST": 15, "RATE_LIMIT_PER_MINUTE": 10},
    "workloads": {"small": {"rate_rps": 10, "actors": 30}},
    "measured": {
        "operations": {
            "health": op(10, 0), "hit_local": op(40, 10), "hit_redis": op(60, 20),
            "replay": op(80, 15), "miss_10k": {**op(200, 60), "service_rss_growth_per_result": 5000},
            "miss_1m": op(2200, 60),
            "denied_402": op(150, 50), "denied_429": op(40, 8), "balance": op(50, 15),
        },
        "memory_bytes": {"account": 100, "ledger_stream_one_entry": 600, "ledger_entry": 50,
                         "hold_hash_one_hold": 150, "idempotency_record_hit": 4000,
                         "idempotency_record_miss": 4000, "idempotency_index_one_member": 1000, "idempotency_index_member": 200,
                         "cache_result": 3500, "cache_lock": 100, "rate_bucket_actor": 120,
                         "rate_bucket_address": 120, "api_key": 250, "grant_marker": 100,
                         "cache_result_value_bytes": 3200},
        "service_rss_bytes": {"MAIN": 30 << 20, "NOCOPY": 20 << 20},
    },
}


class CostTests(unittest.TestCase):
    def test_cpu_is_linear_in_the_rate(self):
        w = {"rate_rps": 1000, "actors": 1000}
        double = {**w, "rate_rps": 2000}
        one, two = model.plan(SYNTHETIC, w), model.plan(SYNTHETIC, double)
        self.assertAlmostEqual(two["service_cores"], 2 * one["service_cores"])
        self.assertAlmostEqual(two["redis_cores"], 2 * one["redis_cores"])

    def test_a_miss_costs_the_engine_in_proportion_to_its_iterations(self):
        costs = model.unit_costs(SYNTHETIC, 505_000)
        self.assertAlmostEqual(costs["miss"][0], 1200)  # halfway between 200 and 2200 µs
        self.assertEqual(costs["miss"][1], 60)          # Redis does not see the engine

    def test_counts_of_requests_give_cpu_seconds(self):
        service, redis, _, _ = model.cpu(SYNTHETIC, {"hit_local": 1000, "miss": 100})
        self.assertAlmostEqual(service, (1000 * 40 + 100 * 200) / 1e6)
        self.assertAlmostEqual(redis, (1000 * 10 + 100 * 60) / 1e6)

    def test_a_mix_that_does_not_add_up_is_refused(self):
        with self.assertRaises(ValueError):
            model.plan(SYNTHETIC, {"mix": {"hit": 0.5, "miss": 0.1}})


class InstanceTests(unittest.TestCase):
    def test_instances_carry_the_service_cpu_at_the_target_utilisation(self):
        r = model.plan(SYNTHETIC, {"rate_rps": 100_000, "mix": {"hit": 1.0}, "hit_from_copy": 1.0})
        # 100 000 hits × 40 µs = 4 cores; 2-core instances at 50 % carry 1 core each.
        self.assertAlmostEqual(r["service_cores"], 4.0)
        self.assertEqual(r["instances"], 4)

    def test_never_fewer_instances_than_the_minimum(self):
        self.assertEqual(model.plan(SYNTHETIC, "small")["instances"], 2)


class RedisTests(unittest.TestCase):
    def test_a_small_workload_fits_one_node(self):
        r = model.plan(SYNTHETIC, "small")
        self.assertEqual(r["shards"], 1)
        self.assertIn("one Redis node", r["shape"])

    def test_redis_cpu_beyond_one_node_needs_shards(self):
        # 100 000 hits from the copy × 10 µs = 1 core of Redis; budget 0.5 a shard.
        r = model.plan(SYNTHETIC, {"rate_rps": 100_000, "mix": {"hit": 1.0}, "hit_from_copy": 1.0,
                                   "actors": 1000})
        self.assertAlmostEqual(r["redis_cores"], 1.0)
        self.assertEqual(r["shards_cpu"], 2)
        self.assertEqual(r["first_bottleneck"], "service instances")

    def test_memory_beyond_one_node_needs_shards(self):
        r = model.plan(SYNTHETIC, {"rate_rps": 100, "actors": 10_000_000, "ledger_days": 365,
                                   "daily_active_share": 1.0})
        self.assertGreater(r["shards_memory"], 1)
        self.assertEqual(r["shards"], r["shards_memory"])
        self.assertEqual(r["first_bottleneck"], "Redis memory (one node)")

    def test_noeviction_headroom_leaves_room_above_the_data(self):
        r = model.plan(SYNTHETIC, "small")
        self.assertAlmostEqual(r["redis_maxmemory_bytes"], r["redis_used_bytes"] / 0.75)

    def test_idempotency_records_are_capped_per_actor(self):
        w = {"rate_rps": 10_000, "average_to_peak": 1.0, "actors": 10, "idempotency_key_share": 1.0}
        held = model.keys_held(SYNTHETIC, model.workload(SYNTHETIC, w))
        self.assertEqual(held["idempotency_records"], 10 * 1000)

    def test_header_mode_forgets_idle_accounts_and_api_key_mode_keeps_them(self):
        base = {"actors": 1_000_000, "daily_active_share": 0.1}
        header = model.keys_held(SYNTHETIC, model.workload(SYNTHETIC, {**base, "auth_mode": "header"}))
        keyed = model.keys_held(SYNTHETIC, model.workload(SYNTHETIC, {**base, "auth_mode": "api_key"}))
        self.assertEqual(header["accounts"], 200_000)  # active in the 2-day idle TTL
        self.assertEqual(keyed["accounts"], 1_000_000)
        self.assertEqual(keyed["api_keys"], 1_000_000)

    def test_the_ledger_grows_with_the_days_it_keeps(self):
        w = {"actors": 1000, "daily_active_share": 1.0, "sims_per_active_actor_per_day": 9}
        ten = model.memory(SYNTHETIC, model.workload(SYNTHETIC, {**w, "ledger_days": 10}))
        twenty = model.memory(SYNTHETIC, model.workload(SYNTHETIC, {**w, "ledger_days": 20}))
        self.assertAlmostEqual(ten["ledger_entries"], 1000 * 10 * 10 * 50)
        self.assertAlmostEqual(twenty["ledger_entries"], 2 * ten["ledger_entries"])


class HotKeyTests(unittest.TestCase):
    def test_the_copy_serves_the_hits_while_the_hot_set_fits(self):
        fits = model.plan(SYNTHETIC, {"hot_fingerprints": 1000})
        too_many = model.plan(SYNTHETIC, {"hot_fingerprints": 100_000})
        self.assertEqual(fits["copy_share"], 1.0)
        self.assertLess(too_many["copy_share"], 0.5)
        self.assertGreater(too_many["redis_cores"], fits["redis_cores"])

    def test_the_copy_takes_a_hot_fingerprint_off_its_shard(self):
        r = model.plan(SYNTHETIC, {"rate_rps": 100_000, "hottest_fingerprint_share": 0.1})
        # 9 000 hits/s on one slot: 9 000 × (20 - 10) µs = 0.09 cores of one shard without
        # the copy; with it, one read per instance per cache lifetime.
        self.assertAlmostEqual(r["hot_key"]["shard_cpu_without_copy"], 0.09)
        self.assertLess(r["hot_key"]["reads_per_s_with_copy"], 0.1)


class CommittedInputsTests(unittest.TestCase):
    def setUp(self):
        self.inputs = model.load_inputs()

    def test_the_measured_block_names_its_run_and_every_cost_the_model_reads(self):
        measured = self.inputs["measured"]
        self.assertIn("machine", measured["run"])
        for label in SYNTHETIC["measured"]["operations"]:
            self.assertGreater(measured["operations"][label]["requests"], 0, label)
        for kind in SYNTHETIC["measured"]["memory_bytes"]:
            self.assertGreater(measured["memory_bytes"][kind], 0, kind)

    def test_the_reference_workloads_get_their_shapes(self):
        classroom = model.plan(self.inputs, "classroom")
        internet = model.plan(self.inputs, "internet_scale")
        self.assertEqual(classroom["shards"], 1)
        self.assertEqual(classroom["instances"], 2)
        self.assertGreater(internet["shards"], 1)
        self.assertGreater(internet["instances"], 4)

    def test_the_report_prints_every_reference_workload(self):
        for name in self.inputs["workloads"]:
            text = model.report(self.inputs, name, model.plan(self.inputs, name))
            self.assertIn("first bottleneck", text)
            self.assertIn("settings: LOCAL_CACHE_BYTES=", text)

    def test_inputs_do_not_change_when_planned(self):
        before = copy.deepcopy(self.inputs)
        model.plan(self.inputs, "popular_site")
        self.assertEqual(before, self.inputs)


if __name__ == "__main__":
    unittest.main()
