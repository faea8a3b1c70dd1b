"""Load-tests GET /otp under gunicorn against the bare WSGI floor; bench/run.sh is the entry point.

Settings come from the environment (all optional):
  BENCH_WORKERS         WEB_CONCURRENCY for a variant run (empty: the settings default)
  BENCH_GUNICORN_ARGS   GUNICORN_CMD_ARGS for a variant run, e.g. "--worker-class gthread
                        --threads 4 --keep-alive 5" (empty: the config file as shipped)
  BENCH_LABEL           the variant's name in the table
  BENCH_VARIANTS        a file of variants ("label | workers | gunicorn args" per line) to run
                        one after another instead of the single one above
  BENCH_CONNECTIONS     wrk connection counts (default "1 16 64")
  BENCH_DURATION        seconds per measured wrk run (default 10), BENCH_WARMUP (default 2)
  BENCH_REPEAT          measured runs per point, the median by req/s is shown (default 1)
  BENCH_APPS            which servers to load (default "django bare")
"""

import base64
import contextlib
import http.client
import json
import os
import platform
import re
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
CONFIG = "otpsite/gunicorn.conf.py"
APPS = {"django": None, "bare": "bench.bare_app:application"}
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Variables of the caller's shell that would change what is measured; the run sets its own.
SCRUBBED = {
    "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY", "HOST", "PORT", "API_KEY", "OTP_SECRET", "ENV_FILE",
    "LOG_LEVEL", "ENABLE_DOCS", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE",
}  # fmt: skip
RESULT_LINE = re.compile(r"^BENCH-RESULT (.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Variant:
    label: str
    workers: str  # "" keeps the settings default
    gunicorn_args: str  # "" keeps the config file


@dataclass
class Run:
    variant: str
    app: str
    connections: int
    requests: int
    seconds: float
    p50_us: int
    p99_us: int
    cpu_seconds: float
    errors: dict
    wrk_cpu_seconds: float
    worker_split: list[float]  # each worker's share of the workers' CPU, largest first
    other_cpu_seconds: float  # processes other than the server and wrk, machine-wide

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds * 1e6 / self.requests if self.requests else float("nan")


def bounded_env_int(name: str, default: int, low: int, high: int) -> int:
    value = int(os.environ.get(name, "") or default)
    if not low <= value <= high:
        raise SystemExit(f"bench: {name} must be between {low} and {high}")
    return value


def variants_from_env() -> list[Variant]:
    listing = os.environ.get("BENCH_VARIANTS", "")
    if listing:
        variants = []
        for line in Path(listing).read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                label, workers, args = (part.strip() for part in line.split("|", 2))
                variants.append(Variant(label, workers, args))
        return variants
    workers = os.environ.get("BENCH_WORKERS", "")
    args = os.environ.get("BENCH_GUNICORN_ARGS", "")
    default_label = "shipped" if not (workers or args) else f"workers={workers or '-'} {args}"
    return [Variant(os.environ.get("BENCH_LABEL", default_label), workers, args)]


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_ticks(pid: int) -> int:
    """utime + stime of one process, all its threads included, in clock ticks."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def descendants(pid: int) -> set[int]:
    found = set()
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in children.read_text().split():
            found |= {int(child)} | descendants(int(child))
    return found


def server_ticks(master: int) -> dict[int, int]:
    """CPU ticks of the master and of each of its workers, by pid."""
    return {pid: process_ticks(pid) for pid in {master, *descendants(master)}}


def machine_ticks() -> tuple[int, int]:
    """All CPUs' (user + nice + system, total) ticks: what else ran during a run shows up here."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields[:3]), sum(fields)


class Server:
    """One gunicorn master, started with the shipped config file and a variant's overrides."""

    def __init__(self, app: str, variant: Variant, api_key: str, otp_secret: str, log: Path):
        self.port = free_loopback_port()
        self.api_key = api_key
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        env.update(
            ENV_FILE="", HOST="127.0.0.1", PORT=str(self.port), API_KEY=api_key,
            OTP_SECRET=otp_secret,
        )  # fmt: skip
        if variant.workers:
            env["WEB_CONCURRENCY"] = variant.workers
        if variant.gunicorn_args:
            env["GUNICORN_CMD_ARGS"] = variant.gunicorn_args
        argv = [str(GUNICORN), "-c", CONFIG] + ([APPS[app]] if APPS[app] else [])
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=out)

    def get(self, path: str, api_key: str) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", path, headers={"X-API-Key": api_key})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def wait_until_serving(self) -> str:
        """Check a right key gets 200 with a six-digit code and a wrong one 401; return the
        Connection header of the 200 (sync workers close every connection)."""
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                self.fail("gunicorn exited during start-up")
            try:
                status, headers, body = self.get("/otp", self.api_key)
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.fail("gunicorn did not answer within 30 s")
                time.sleep(0.1)
        code = json.loads(body).get("otp") if status == 200 else None
        if not (isinstance(code, str) and len(code) == 6 and code.isascii() and code.isdigit()):
            self.fail(f"GET /otp answered {status}, not 200 with a six-digit code")
        wrong_status = self.get("/otp", "x" * len(self.api_key))[0]
        if wrong_status != 401:
            self.fail(f"GET /otp with a wrong key answered {wrong_status}, not 401")
        # Every worker forked and idle before any load: the worker set stops changing.
        workers, stable_since = set(), time.monotonic()
        while time.monotonic() - stable_since < 1 and time.monotonic() < deadline:
            now_workers = descendants(self.process.pid)
            if now_workers != workers:
                workers, stable_since = now_workers, time.monotonic()
            time.sleep(0.1)
        self.workers = len(workers)
        return headers.get("Connection", "(none)")

    def fail(self, message: str):
        self.stop()
        tail = self.log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"bench: {message}\n--- server output (tail) ---\n{tail}")

    def stop(self):
        if self.process.poll() is None:
            workers = descendants(self.process.pid)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for pid in (self.process.pid, *workers):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def wrk(port: int, connections: int, seconds: int, api_key: str) -> tuple[dict, str, float]:
    """One bounded wrk run; returns the parsed result line, wrk's own output and its CPU time."""
    threads = 1 if connections == 1 else 2
    argv = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s",
        "-s", str(ROOT / "bench" / "report.lua"), f"http://127.0.0.1:{port}/otp",
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        argv, env={**os.environ, "BENCH_API_KEY": api_key}, capture_output=True, text=True,
        timeout=seconds + 30, check=False,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    match = RESULT_LINE.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise SystemExit(f"bench: wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = {k: int(v) for k, v in (pair.split("=") for pair in match.group(1).split())}
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return result, done.stdout, cpu


def measure(server: Server, variant: Variant, app: str, connections: int, warmup: int,
            duration: int) -> Run:  # fmt: skip
    if warmup:
        wrk(server.port, connections, warmup, server.api_key)
    machine_before, before = machine_ticks(), server_ticks(server.process.pid)
    result, output, wrk_cpu = wrk(server.port, connections, duration, server.api_key)
    after, machine_after = server_ticks(server.process.pid), machine_ticks()
    if after.keys() != before.keys():
        print(f"bench: WARNING a worker was replaced during {app} c={connections}: its CPU time "
              "is lost, so CPU/request is too low", file=sys.stderr)  # fmt: skip
    errors = {k: result[k] for k in ("status", "connect", "read", "write", "timeout")}
    if any(errors.values()):
        print(f"bench: {app} c={connections}: non-2xx or socket errors:\n{output}", file=sys.stderr)
    used = {pid: after[pid] - before.get(pid, 0) for pid in after}
    workers = sorted((used[pid] for pid in used if pid != server.process.pid), reverse=True)
    server_cpu = sum(used.values()) / CLK_TCK
    busy = (machine_after[0] - machine_before[0]) / CLK_TCK
    return Run(
        variant.label, app, connections, result["requests"], result["duration_us"] / 1e6,
        result["p50_us"], result["p99_us"], server_cpu, errors, wrk_cpu,
        [share / max(sum(workers), 1) for share in workers], max(busy - server_cpu - wrk_cpu, 0),
    )  # fmt: skip


def machine_lines() -> list[str]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), "unknown",
    )  # fmt: skip
    gunicorn = subprocess.run(
        [str(GUNICORN), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return [
        f"- machine: {os.cpu_count()} CPUs, {cpu}; load average at start "
        f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}",
        f"- Python {platform.python_version()}, {gunicorn}, "
        f"{(wrk_version.stdout or wrk_version.stderr).splitlines()[0].split(' [')[0]}",
    ]


def table(runs: list[Run], notes: dict[str, str]) -> list[str]:
    lines = [
        "| variant | conns | app | req/s | p50 ms | p99 ms | server CPU µs/req | server CPU % "
        "| worker split % | wrk CPU % | other CPU % | errors | vs bare: req/s, CPU/req |",
        "|---|--:|---|--:|--:|--:|--:|--:|---|--:|--:|---|---|",
    ]
    floor = {(r.variant, r.connections): r for r in runs if r.app == "bare"}
    order = {label: i for i, label in enumerate(dict.fromkeys(r.variant for r in runs))}
    for r in sorted(runs, key=lambda r: (order[r.variant], r.connections, list(APPS).index(r.app))):
        bare = floor.get((r.variant, r.connections))
        ratio = (
            f"{r.rps / bare.rps:.2f}x, {r.cpu_us_per_request / bare.cpu_us_per_request:.2f}x"
            if bare and r.app != "bare"
            else ""
        )
        errors = ", ".join(f"{k} {v}" for k, v in r.errors.items() if v) or "none"
        lines.append(
            f"| {r.variant} | {r.connections} | {r.app} | {r.rps:,.0f} | {r.p50_us / 1000:.2f} "
            f"| {r.p99_us / 1000:.2f} | {r.cpu_us_per_request:.0f} "
            f"| {100 * r.cpu_seconds / r.seconds:.0f} "
            f"| {'/'.join(f'{100 * share:.0f}' for share in r.worker_split)} "
            f"| {100 * r.wrk_cpu_seconds / r.seconds:.0f} "
            f"| {100 * r.other_cpu_seconds / r.seconds:.0f} | {errors} | {ratio} |"
        )
    lines.append("")
    lines += [f"- {label}: {note}" for label, note in notes.items()]
    return lines


def main() -> None:
    duration = bounded_env_int("BENCH_DURATION", 10, 1, 120)
    warmup = bounded_env_int("BENCH_WARMUP", 2, 0, 30)
    repeat = bounded_env_int("BENCH_REPEAT", 1, 1, 5)
    connections = [int(c) for c in os.environ.get("BENCH_CONNECTIONS", "1 16 64").split()]
    if not connections or not all(1 <= c <= 512 for c in connections):
        raise SystemExit("bench: BENCH_CONNECTIONS must be counts between 1 and 512")
    apps = os.environ.get("BENCH_APPS", "django bare").split()
    if not apps or not set(apps) <= set(APPS):
        raise SystemExit(f"bench: BENCH_APPS must name some of: {' '.join(APPS)}")
    variants = variants_from_env()
    # Fresh secrets per run: nothing here can leak a real key, and no .env is read (ENV_FILE="").
    api_key = secrets.token_urlsafe(32)
    otp_secret = base64.b32encode(secrets.token_bytes(20)).decode()
    started = datetime.now(UTC)
    header = [f"# GET /otp load test, {started:%Y-%m-%d %H:%M:%S} UTC", "", *machine_lines()]
    header += [
        "- server CPU = utime+stime of the gunicorn master and workers (/proc/<pid>/stat) over "
        "the run / requests; CPU % is of one core (the machine has "
        f"{os.cpu_count()}); worker split = each worker's share of the workers' CPU; other = "
        "user+system CPU of every other process (machine-wide, /proc/stat); softirq time "
        "(loopback TCP) is in none of these",
    ]
    header.append(
        f"- wrk {duration} s per run after a {warmup} s warm-up, -t1 at 1 connection, -t2 above; "
        f"the median by req/s of {repeat} run(s) is shown"
    )
    runs, notes = [], {}
    with tempfile.TemporaryDirectory(prefix="otp-bench-") as scratch:
        for variant in variants:
            for app in apps:
                print(f"bench: {variant.label} / {app} ...", file=sys.stderr)
                server = Server(app, variant, api_key, otp_secret, Path(scratch) / "server.log")
                try:
                    connection = server.wait_until_serving()
                    notes[f"{variant.label} / {app}"] = (
                        f"{server.workers} workers, WEB_CONCURRENCY={variant.workers or 'default'}"
                        f", GUNICORN_CMD_ARGS={variant.gunicorn_args or '(none)'}"
                        f", response Connection: {connection}"
                    )
                    for count in connections:
                        tries = [
                            measure(server, variant, app, count, warmup if i == 0 else 0, duration)
                            for i in range(repeat)
                        ]
                        runs.append(sorted(tries, key=lambda run: run.rps)[len(tries) // 2])
                finally:
                    server.stop()
    report = "\n".join([*header, "", *table(runs, notes)]) + "\n"
    print(report)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    path = results / f"{started:%Y%m%dT%H%M%SZ}.md"
    path.write_text(report)
    print(f"bench: written to {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
