"""Two server variants loaded at the same time, each by its own wrk: their ratio, robust to a
shared machine whose speed drifts from one minute to the next.

bench/run.sh measures variants one after another, and on this machine two runs of one variant a
minute apart have differed by a quarter: a few percent between variants then drowns. Here both
run together, on their own fresh storage (two PostgreSQL databases, two Redis databases), so
each moment's machine is the same for both; they share the two cores, so absolute figures are
about half of a run alone and only the ratio means anything.

Run: .venv/bin/python -m bench.side_by_side SCENARIO "LABEL_A | workers | gunicorn args"
     "LABEL_B | workers | gunicorn args" (a variant as in bench/variants.txt; "-c
     bench/sync.conf.py" for the sync workers, "--env NAME=value" for a setting)
Environment: BENCH_BACKENDS (one of sqlite, postgres-redis; default postgres-redis),
BENCH_CONNECTIONS (per server, default 16), BENCH_ROUNDS (default 3), BENCH_DURATION (s,
default 10), BENCH_SERVER_ENV as for bench/run.sh.
"""

import contextlib
import statistics
import sys
import tempfile
import threading
from pathlib import Path

from bench.loadtest import (
    CLK_TCK,
    SCENARIOS,
    Server,
    Storage,
    Variant,
    bounded_env_int,
    fresh_secrets,
    server_ticks,
    words_from_env,
    wrk,
)


def variant(text: str) -> Variant:
    label, workers, args = (part.strip() for part in (text + "||").split("|")[:3])
    return Variant(label, workers, args)


def main() -> None:
    if len(sys.argv) != 4 or sys.argv[1] not in SCENARIOS:
        raise SystemExit(__doc__)
    scenario, variants = sys.argv[1], [variant(sys.argv[2]), variant(sys.argv[3])]
    (backend,) = words_from_env("BENCH_BACKENDS", "postgres-redis", ("sqlite", "postgres-redis"))
    connections = bounded_env_int("BENCH_CONNECTIONS", 16, 1, 256)
    rounds = bounded_env_int("BENCH_ROUNDS", 3, 1, 10)
    duration = bounded_env_int("BENCH_DURATION", 10, 1, 60)
    secrets_env = fresh_secrets()
    ratios = []
    print(f"{scenario}, {backend}, {connections} connections each, {duration} s per round")
    with tempfile.TemporaryDirectory(prefix="otp-side-by-side-") as scratch_name:
        scratch = Path(scratch_name)
        for round_number in range(1, rounds + 1):
            # Fresh servers and storage every round: the verify scenario's code stays current.
            figures = run_round(scenario, backend, variants, secrets_env, connections, duration,
                                scratch)  # fmt: skip
            ratios.append(figures[1][0] / figures[0][0])
            print(
                f"round {round_number}: "
                + "  ".join(
                    f"{v.label}: {rps:,.0f} req/s, p99 {p99 / 1000:.1f} ms, "
                    f"{cpu:,.0f} µs CPU/req, errors {errors}"
                    for v, (rps, p99, cpu, errors) in zip(variants, figures, strict=True)
                )
                + f"  {variants[1].label}/{variants[0].label} {ratios[-1]:.3f}"
            )
    print(f"median {variants[1].label}/{variants[0].label} req/s: {statistics.median(ratios):.3f}")


def run_round(scenario, backend, variants, secrets_env, connections, duration, scratch):
    storages = [Storage(backend, scratch) for _ in variants]
    if backend == "postgres-redis":
        # Each its own Redis database (loadtest's default is 12).
        for index, storage in enumerate(storages):
            storage.redis_url = storage.redis_url.rsplit("/", 1)[0] + f"/{12 + index}"
    with contextlib.ExitStack() as cleanup:
        # Whatever was started is stopped, and whatever storage was made is dropped, even when
        # a later one fails to start.
        servers = []
        for index, (each, storage) in enumerate(zip(variants, storages, strict=True)):
            env = cleanup.enter_context(storage)
            servers.append(Server("django", each, secrets_env, scratch / f"{index}.log", env))
            cleanup.callback(servers[-1].stop)
        for server in servers:
            server.wait_until_serving()
            server.check_scenario(scenario)
        together(servers, lambda server: wrk(server, scenario, connections, 2, scratch))
        before = [server_ticks(server.process.pid) for server in servers]
        results = together(
            servers, lambda server: wrk(server, scenario, connections, duration, scratch)
        )
        after = [server_ticks(server.process.pid) for server in servers]
    figures = []
    for (result, _, _), ticks_before, ticks_after in zip(results, before, after, strict=True):
        cpu = sum(t - ticks_before.get(pid, 0) for pid, t in ticks_after.items()) / CLK_TCK
        requests = max(result["requests"], 1)
        errors = sum(result[k] for k in ("status", "connect", "read", "write", "timeout"))
        figures.append(
            (requests * 1e6 / result["duration_us"], result["p99_us"], cpu * 1e6 / requests, errors)
        )
    return figures


def together(servers, load):
    """load(server) for every server at once; their results in order."""
    results = [None] * len(servers)

    def one(index):
        results[index] = load(servers[index])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(servers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if None in results:
        raise SystemExit("bench: a load run failed")
    return results


if __name__ == "__main__":
    main()
