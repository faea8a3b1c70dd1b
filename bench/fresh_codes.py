"""The cost of min_validity waits and of exclusive issuance under load (issue 10); run as
`.venv/bin/python -m bench.fresh_codes`.

Per backend (BENCH_BACKENDS, default "sqlite"; "postgres-redis" as in bench/loadtest.py), one
shipped gunicorn server on fresh storage and fresh secrets, loopback only:
  1. GET /otp against GET /otp?min_validity=1 (never waits: only the parameter's parsing and
     check) at BENCH_CONNECTIONS (default 16), BENCH_DURATION s (default 6) after BENCH_WARMUP s
     (default 2): req/s, p50/p99, server CPU µs/request.
  2. GET /accounts/<exclusive account>/otp?wait=false by the all-access API_KEY (the account is
     made before the server starts), then the same after `otp account set NAME --shared`: the
     statuses the server logged (one 200 per time step when exclusive, the rest 409). The
     measured run is placed so that one window boundary falls inside it.
  3. BENCH_WAITERS (default 200) connections each sending GET /otp?min_validity=29, started 2-4 s
     into a 30 s window so they wait ~25 s: the workers' RSS before and while they wait, the
     workers' CPU over 5 s of waiting, GET /otp under wrk with and without the waiters; then
     SIGTERM, and how many waiters got 503 within BENCH_SHUTDOWN_SECONDS (default 3).
"""

import base64
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.loadtest import (
    BACKENDS,
    CLK_TCK,
    GUNICORN,
    RESULT_LINE,
    ROOT,
    SCRUBBED,
    Server,
    Storage,
    Variant,
    bounded_env_int,
    descendants,
    fresh_secrets,
    machine_lines,
    machine_ticks,
    process_ticks,
    server_ticks,
    words_from_env,
    write_report,
)  # fmt: skip

EXCLUSIVE = "bench-exclusive"
PERIOD = 30


STATUS = re.compile(r'"status": ?(\d+)')


def access_statuses(log_text: str) -> list[str]:
    """The status of every access line (logger otp.access) in `log_text`."""
    return [
        found.group(1)
        for line in log_text.splitlines()
        if '"otp.access"' in line and (found := STATUS.search(line))
    ]


def load(server: Server, path: str, connections: int, seconds: int) -> dict:
    """One bounded wrk run of GET `path` with the all-access key (report.lua's GET BENCH_PATH
    hook), with the server's CPU, the rest of the machine's CPU and the statuses it logged."""
    threads = 1 if connections == 1 else 2
    argv = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s",
        "-s", str(ROOT / "bench" / "report.lua"), f"http://127.0.0.1:{server.port}{path}",
    ]  # fmt: skip
    env = {**server.env, "BENCH_SCENARIO": "account", "BENCH_PATH": path,
           "BENCH_API_KEY": server.api_key, "BENCH_THREADS": str(threads)}  # fmt: skip
    log_offset = server.log.stat().st_size
    machine_before, before = machine_ticks(), server_ticks(server.process.pid)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 30,
                          check=False)  # fmt: skip
    after, machine_after = server_ticks(server.process.pid), machine_ticks()
    match = RESULT_LINE.search(done.stdout)
    if done.returncode != 0 or match is None:
        server.fail(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = {k: int(v) for k, v in (pair.split("=") for pair in match.group(1).split())}
    time.sleep(0.3)  # the answers in flight when wrk stopped reach the log
    with server.log.open("rb") as log:
        log.seek(log_offset)
        statuses = access_statuses(log.read().decode(errors="replace"))
    server_cpu = sum(after[p] - before.get(p, 0) for p in after) / CLK_TCK
    busy = (machine_after[0] - machine_before[0]) / CLK_TCK
    seconds_run = result["duration_us"] / 1e6
    return {
        "requests": result["requests"], "rps": result["requests"] / seconds_run,
        "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000,
        "cpu_us": server_cpu * 1e6 / max(result["requests"], 1),
        "server_pct": 100 * server_cpu / seconds_run,
        "rest_pct": 100 * max(busy - server_cpu, 0) / seconds_run,  # wrk + everything else
        "statuses": {s: statuses.count(s) for s in sorted(set(statuses))},
        "non_2xx": result["status"],
        "socket_errors": sum(result[k] for k in ("connect", "read", "write", "timeout")),
    }  # fmt: skip


def row(label: str, r: dict) -> str:
    statuses = ", ".join(f"{s}: {n:,}" for s, n in r["statuses"].items())
    return (
        f"| {label} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['cpu_us']:.0f} "
        f"| {r['server_pct']:.0f} | {r['rest_pct']:.0f} | {r['non_2xx']:,} | {statuses} "
        f"| {r['socket_errors']} |"
    )


HEADER = [
    "| load | req/s | p50 ms | p99 ms | server CPU µs/req | server CPU % | wrk + rest of machine "
    "CPU % | wrk non-2xx | statuses the server logged | socket errors |",
    "|---|--:|--:|--:|--:|--:|--:|--:|---|--:|",
]


def window_second() -> float:
    return time.time() % PERIOD


def wait_for_window(low: float, high: float) -> None:
    """Sleep (at most one period) until the current 30 s window is between low and high s in."""
    deadline = time.monotonic() + PERIOD + 1
    while not low <= window_second() < high:
        if time.monotonic() > deadline:
            raise SystemExit("bench: the clock never reached the wanted second of a window")
        time.sleep(0.05)


def worker_rss_kib(server: Server) -> list[int]:
    rss = []
    for pid in sorted(descendants(server.process.pid)):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss.append(int(line.split()[1]))
    return rss


def worker_ticks(server: Server) -> int:
    return sum(process_ticks(pid) for pid in descendants(server.process.pid))


def open_waiters(server: Server, count: int) -> list[socket.socket]:
    request = (
        f"GET /otp?min_validity=29 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {server.api_key}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    waiters = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(request)
        waiters.append(sock)
    return waiters


def status_of(sock: socket.socket, deadline: float) -> str:
    """The status line's code of the answer on `sock` if it comes before `deadline`, else a
    word for what happened."""
    sock.settimeout(max(deadline - time.monotonic(), 0.01))
    try:
        head = sock.recv(64)
    except TimeoutError:
        return "no answer"
    except OSError:
        return "reset"
    finally:
        sock.close()
    parts = head.split(b" ", 2)
    return parts[1].decode() if len(parts) > 1 else "closed"


def setup_exclusive_account(storage_env: dict, secrets_env: dict) -> dict:
    """Make the storage and the exclusive account before the server starts; the environment the
    server will run in (the same as bench.loadtest.Server gives it, minus HOST/PORT)."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(ENV_FILE="", **secrets_env, **storage_env)
    secret = base64.b32encode(secrets.token_bytes(20)).decode()
    python = str(GUNICORN.parent / "python")
    steps = [
        (["shell", "-c", "from otpsite.storage import prepare_storage; prepare_storage()"], ""),
        (["otp", "account", "add", EXCLUSIVE, "--exclusive"], secret + "\n"),
    ]
    for args, stdin in steps:
        done = subprocess.run([python, "manage.py", *args], cwd=ROOT, env=env, input=stdin,
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(
                f"bench: manage.py {' '.join(args[:3])} failed:\n{done.stderr[-2000:]}"
            )
    return env


def exclusive_run(server: Server, connections: int, warmup: int, duration: int) -> dict:
    """Warm up, then start the measured run so that one window boundary falls inside it."""
    path = f"/accounts/{EXCLUSIVE}/otp?wait=false"
    start_at = (PERIOD - duration / 2) % PERIOD  # boundary in the middle of the run
    wait_for_window(max(start_at - warmup - 1, 0), start_at - warmup)
    load(server, path, connections, warmup)
    wait_for_window(start_at - 0.5, start_at + 0.5)
    began = time.time()
    result = load(server, path, connections, duration)
    result["boundaries"] = int((began + duration) // PERIOD) - int(began // PERIOD)
    return result


def backend_report(backend: str, scratch: Path) -> list[str]:
    connections = bounded_env_int("BENCH_CONNECTIONS", 16, 1, 512)
    duration = bounded_env_int("BENCH_DURATION", 6, 1, 12)
    warmup = bounded_env_int("BENCH_WARMUP", 2, 0, 5)
    waiters_count = bounded_env_int("BENCH_WAITERS", 200, 0, 900)
    shutdown_seconds = bounded_env_int("BENCH_SHUTDOWN_SECONDS", 3, 1, 10)
    secrets_env = fresh_secrets()
    lines = [f"### {backend}, {connections} connections, {duration} s after {warmup} s", ""]
    storage = Storage(backend, scratch)
    with storage as storage_env:
        print(f"bench: {backend}: exclusive account, server ...", file=sys.stderr)
        manage_env = setup_exclusive_account(storage_env, secrets_env)
        server = Server("django", Variant("shipped", "", ""), secrets_env,
                        scratch / f"server-{backend}.log", storage_env)  # fmt: skip
        try:
            server.wait_until_serving()
            lines.append(f"{server.workers} gevent workers (shipped config)")
            lines += ["", *HEADER]
            print("bench:   1. /otp against ?min_validity=1", file=sys.stderr)
            for label, path in (("GET /otp", "/otp"),
                                ("GET /otp?min_validity=1", "/otp?min_validity=1")):  # fmt: skip
                load(server, path, connections, warmup)
                lines.append(row(label, load(server, path, connections, duration)))
            print("bench:   2. exclusive against shared", file=sys.stderr)
            exclusive = exclusive_run(server, connections, warmup, duration)
            lines.append(row(f"exclusive account, ?wait=false ({exclusive['boundaries']} window "
                             "boundary in the run)", exclusive))  # fmt: skip
            done = subprocess.run(
                [str(GUNICORN.parent / "python"), "manage.py", "otp", "account", "set", EXCLUSIVE,
                 "--shared"], cwd=ROOT, env=manage_env, capture_output=True, text=True,
                timeout=60, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                server.fail(f"otp account set --shared failed:\n{done.stderr[-2000:]}")
            shared = exclusive_run(server, connections, warmup, duration)
            lines.append(
                row(f"same account shared ({shared['boundaries']} window boundary)", shared)
            )

            print("bench:   3. waiters", file=sys.stderr)
            load(server, "/otp", connections, warmup)
            without = load(server, "/otp", connections, duration)
            rss_before = worker_rss_kib(server)
            wait_for_window(2, 4)
            opened_at = time.time()
            waiters = open_waiters(server, waiters_count)
            time.sleep(1)
            rss_during = worker_rss_kib(server)
            ticks_before, t0 = worker_ticks(server), time.monotonic()
            time.sleep(5)
            idle_cpu = (worker_ticks(server) - ticks_before) / CLK_TCK / (time.monotonic() - t0)
            load(server, "/otp", connections, warmup)
            during = load(server, "/otp", connections, duration)
            still_waiting = time.time() < opened_at + (PERIOD - opened_at % PERIOD)
            term_at = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            deadline = term_at + shutdown_seconds
            answers = [status_of(sock, deadline) for sock in waiters]
            answered_in = time.monotonic() - term_at
            counts = {a: answers.count(a) for a in sorted(set(answers))}
            lines += [
                row("GET /otp, no waiters", without),
                row(f"GET /otp, {waiters_count} waiters", during),
                "",
                f"- worker RSS (VmRSS, KiB, per worker): before {rss_before}, with "
                f"{waiters_count} waiters {rss_during}: "
                f"{(sum(rss_during) - sum(rss_before)) / max(waiters_count, 1):.1f} KiB per waiter",
                f"- workers' CPU while {waiters_count} requests waited (5 s, no other load): "
                f"{100 * idle_cpu:.1f} % of one core",
                f"- waiters opened {opened_at % PERIOD:.1f} s into a window; SIGTERM while they "
                f"still waited: {still_waiting}; their answers within {shutdown_seconds} s: "
                + ", ".join(f"{a}: {n}" for a, n in counts.items())
                + f" (all read {answered_in:.2f} s after SIGTERM)",
            ]
        finally:
            server.stop()
    return [*lines, ""]


def main() -> None:
    backends = words_from_env("BENCH_BACKENDS", "sqlite", BACKENDS)
    started = datetime.now(UTC)
    lines = [f"# min_validity and exclusive accounts, {started:%Y-%m-%d %H:%M:%S} UTC", "",
             *machine_lines(), ""]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="otp-fresh-") as scratch_name:
        for backend in backends:
            lines += backend_report(backend, Path(scratch_name))
    lines.append(
        f"- load average at the end {' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
    )
    write_report("\n".join(lines) + "\n", f"fresh-{started:%Y%m%dT%H%M%SZ}")


if __name__ == "__main__":
    main()
