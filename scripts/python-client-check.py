"""The Python client generated from the OpenAPI document, used as a program would use it,
against a live instance.

Usually run through scripts/python-client-check.sh, which generates the client
(openapi-python-client), starts an instance with small limits and passes its settings.

    python scripts/python-client-check.py --client-dir target/python-client \
        --base-url http://127.0.0.1:8000 --daily-tokens 3 --burst 20

Every answer is read through the client's typed responses (`response.parsed`): results are
`SimulationResult`, `Balance` and `LedgerPage` models, errors are `Problem` models with their
`ProblemCode`, never raw bytes. Undocumented statuses raise (`raise_on_unexpected_status`).

1. Simulate a catalogue match with an Idempotency-Key (computed, charged), send it again
   (`Idempotent-Replayed: true`, the same numbers, no charge), and the same match inline
   (the other request shape: a cache hit, free).
2. Balance: the allowance less what was charged.
3. Simulate with new seeds until the allowance is spent: a 402 `insufficient_tokens` with
   `required` and `available`.
4. Ledger, one entry per page, following `next_cursor` through every page: newest first,
   no entry twice, the sum of the amounts is the balance, the newest `balance_after` too.
5. Another actor asks for its balance until the burst is spent: a 429 `rate_limited` whose
   `retry_after_seconds` equals `Retry-After`, with `RateLimit` at `r=0`.

Exits 0 when every step held, 1 with a message naming the step that did not.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from typing import Any

SEED = 424242
MAX_PAGES = 100


class CheckFailed(Exception):
    pass


def log(message: str) -> None:
    print(f"python-client-check: {message}", flush=True)


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--client-dir", required=True, help="the directory holding the generated package"
    )
    parser.add_argument("--package", default="trickster_oracle_client")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--daily-tokens", type=int, required=True)
    parser.add_argument("--burst", type=int, required=True)
    args = parser.parse_args()
    sys.path.insert(0, args.client_dir)
    started = time.monotonic()
    try:
        run(__import__(args.package), args)
    except CheckFailed as failed:
        print(f"python-client-check: FAILED: {failed}", file=sys.stderr)
        return 1
    log(f"passed in {time.monotonic() - started:.1f}s")
    return 0


def run(package: Any, args: argparse.Namespace) -> None:
    from importlib import import_module

    api = lambda name: import_module(f"{args.package}.api.{name}")
    models = import_module(f"{args.package}.models")
    simulate = api("simulation.simulate")
    get_balance = api("tokens.get_balance")
    list_ledger = api("tokens.list_ledger")
    Problem, ProblemCode = models.Problem, models.ProblemCode

    def client_for(actor: str) -> Any:
        # The document's ActorHeader scheme: the actor id as the X-Actor-ID header.
        return package.AuthenticatedClient(
            base_url=args.base_url,
            token=actor,
            prefix="",
            auth_header_name="X-Actor-ID",
            raise_on_unexpected_status=True,
            timeout=30.0,
        )

    def problem(response: Any, status: int, code: Any, what: str) -> Any:
        parsed = response.parsed
        expect(
            int(response.status_code) == status and isinstance(parsed, Problem),
            f"{what}: expected a {status} Problem, got {int(response.status_code)} "
            f"{type(parsed).__name__}: {response.content[:300]!r}",
        )
        expect(parsed.code == code, f"{what}: code {parsed.code}, expected {code}")
        expect(parsed.status == status, f"{what}: problem status {parsed.status}")
        return parsed

    def result(response: Any, what: str) -> Any:
        parsed = response.parsed
        expect(
            int(response.status_code) == 200 and isinstance(parsed, models.SimulationResult),
            f"{what}: expected a 200 SimulationResult, got {int(response.status_code)} "
            f"{type(parsed).__name__}: {response.content[:300]!r}",
        )
        return parsed

    actor = f"py-client-{uuid.uuid4().hex[:12]}"
    client = client_for(actor)
    log(f"actor {actor} at {args.base_url}")

    # 1. Simulate, replay, the other shape.
    catalogue = models.CatalogueSimulation(event_id="demo_001", iterations=10000, seed=SEED)
    key = f"py-client-{uuid.uuid4()}"
    first_response = simulate.sync_detailed(client=client, body=catalogue, idempotency_key=key)
    first = result(first_response, "simulate")
    expect(
        not first.meta.cache_hit and first.meta.cost_tokens == 1,
        f"the first simulation should be computed and cost 1 token: {first.meta.to_dict()}",
    )
    expect(first.seed == SEED, f"seed {first.seed}, sent {SEED}")
    expect(
        "idempotent-replayed" not in first_response.headers, "a first response marked as replayed"
    )
    log(
        f"simulate: 200, fingerprint {first.meta.fingerprint[:16]}…, home {first.probabilities.home:.4f}, "
        f"risk {first.risk.band.value}, Cache-Status {first_response.headers.get('cache-status')!r}"
    )

    replay_response = simulate.sync_detailed(client=client, body=catalogue, idempotency_key=key)
    replay = result(replay_response, "replay")
    expect(
        replay_response.headers.get("idempotent-replayed") == "true",
        f"the replay lacks Idempotent-Replayed: true: {dict(replay_response.headers)}",
    )
    expect(replay.meta.idempotency_replay, "the replay's meta.idempotency_replay is not true")
    expect(
        replay.meta.fingerprint == first.meta.fingerprint
        and replay.probabilities.to_dict() == first.probabilities.to_dict(),
        "the replay's numbers differ from the first response's",
    )
    log("replay with the same Idempotency-Key: 200, Idempotent-Replayed: true, the same numbers")

    event = models.EventInput(
        home_team="Barcelona", away_team="Real Madrid", home_rating=2100.0, away_rating=2050.0
    )
    inline = models.InlineSimulation(event=event, iterations=10000, seed=SEED)
    hit = result(simulate.sync_detailed(client=client, body=inline), "inline simulate")
    expect(
        hit.meta.cache_hit
        and hit.meta.cost_tokens == 0
        and hit.meta.fingerprint == first.meta.fingerprint,
        f"the same match inline should be a free cache hit of the same fingerprint: {hit.meta.to_dict()}",
    )
    log("the same match inline: a cache hit, 0 tokens")

    # 2. Balance.
    balance_response = get_balance.sync_detailed(client=client)
    balance = balance_response.parsed
    expect(isinstance(balance, models.Balance), f"balance: {balance_response.content[:300]!r}")
    expect(
        balance.actor_id == actor
        and balance.daily_allowance == args.daily_tokens
        and balance.balance == args.daily_tokens - 1,
        f"balance after one charge: {balance.to_dict()}",
    )
    log(f"balance: {balance.balance} of {balance.daily_allowance}")

    # 3. Spend the rest, then a 402.
    seed = SEED
    for _ in range(balance.balance):
        seed += 1
        spent = result(
            simulate.sync_detailed(
                client=client,
                body=models.CatalogueSimulation(event_id="demo_001", iterations=1000, seed=seed),
            ),
            f"simulate with seed {seed}",
        )
        expect(spent.meta.cost_tokens == 1, f"seed {seed} was not charged: {spent.meta.to_dict()}")
    seed += 1
    refused = problem(
        simulate.sync_detailed(
            client=client,
            body=models.CatalogueSimulation(event_id="demo_001", iterations=1000, seed=seed),
        ),
        402,
        ProblemCode.INSUFFICIENT_TOKENS,
        "simulate without tokens",
    )
    expect(
        refused.required == 1 and refused.available == 0,
        f"402 required/available: {refused.required}/{refused.available}",
    )
    log(
        f"no tokens left: 402 {refused.code.value}, required {refused.required}, available {refused.available}"
    )

    # 4. The ledger, page by page.
    entries: list[Any] = []
    cursor: Any = None
    for page_number in range(1, MAX_PAGES + 1):
        kwargs = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page_response = list_ledger.sync_detailed(client=client, **kwargs)
        page = page_response.parsed
        expect(
            isinstance(page, models.LedgerPage),
            f"ledger page {page_number}: {int(page_response.status_code)} {page_response.content[:300]!r}",
        )
        expect(
            len(page.entries) <= 1,
            f"ledger page {page_number} has {len(page.entries)} entries, limit 1",
        )
        entries.extend(page.entries)
        cursor = page.next_cursor if isinstance(page.next_cursor, str) else None
        if cursor is None:
            break
    else:
        raise CheckFailed(f"the ledger still had a next_cursor after {MAX_PAGES} pages")
    ids = [e.id for e in entries]
    expect(len(set(ids)) == len(ids), f"an entry appeared twice while paging: {ids}")
    expect(
        [e.at for e in entries] == sorted((e.at for e in entries), reverse=True),
        "the ledger is not newest first",
    )
    kinds = [e.kind.value for e in entries]
    spends = kinds.count("spend")
    expect(
        kinds[-1] == "daily_grant" and spends == args.daily_tokens,
        f"expected a daily grant and {args.daily_tokens} spends, got {kinds}",
    )
    total = sum(e.amount for e in entries)
    expect(
        total == 0 and entries[0].balance_after == 0,
        f"the amounts sum to {total}, the newest balance_after is {entries[0].balance_after}; balance 0",
    )
    log(f"ledger: {len(entries)} pages of one entry ({', '.join(kinds)}), sum 0 = balance")

    # 5. Another actor spends its burst: a 429.
    other = client_for(f"py-client-{uuid.uuid4().hex[:12]}")
    limited = None
    for attempt in range(1, args.burst + 2):
        response = get_balance.sync_detailed(client=other)
        if int(response.status_code) == 429:
            limited = response
            break
        expect(
            int(response.status_code) == 200, f"balance call {attempt}: {int(response.status_code)}"
        )
    expect(
        limited is not None,
        f"{args.burst + 1} calls within a burst of {args.burst} were not limited",
    )
    expect(attempt == args.burst + 1, f"limited at call {attempt}, the burst is {args.burst}")
    denied = problem(limited, 429, ProblemCode.RATE_LIMITED, "balance past the burst")
    retry_after = limited.headers.get("retry-after")
    ratelimit = limited.headers.get("ratelimit", "")
    expect(
        isinstance(denied.retry_after_seconds, int)
        and denied.retry_after_seconds >= 1
        and retry_after == str(denied.retry_after_seconds),
        f"retry_after_seconds {denied.retry_after_seconds!r}, Retry-After {retry_after!r}",
    )
    expect(
        ";r=0;" in ratelimit + ";" and f";t={retry_after}" in ratelimit,
        f"RateLimit {ratelimit!r} should say r=0 and t={retry_after}",
    )
    log(
        f"past the burst: 429 {denied.code.value}, retry after {denied.retry_after_seconds}s, RateLimit {ratelimit}"
    )


if __name__ == "__main__":
    sys.exit(main())
