"""Real servers on loopback for the tests that cross a process boundary: start, wait, stop."""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log_path: Path

    def request(self, method, path, body=None, headers=None):
        """(status, headers, body bytes) of one request on a fresh connection."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> int:
        """SIGTERM, as an orchestrator would; the exit code once it has shut down."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


def start(
    command, tmp_path: Path, port: int, stdout: Path | None = None, **env_overrides
) -> Server:
    """Start `command` from the project root and wait (bounded) until /health answers. Its
    stdout and stderr go to the server's log, or stdout to the file `stdout` names (/dev/full,
    say) and stderr alone to the log."""
    # Its own SQLite database in the test's folder unless the caller names another.
    env = {
        **os.environ,
        "ENV_FILE": "",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATA_DIR": str(tmp_path / "data"),
    }
    env.update(env_overrides)
    log_path = tmp_path / f"server-{port}.log"
    with log_path.open("w") as log_file, open(stdout or os.devnull, "w") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=output if stdout else log_file,
            stderr=log_file if stdout else subprocess.STDOUT,
        )
    server = Server(process, port, log_path)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            if server.request("GET", "/health")[0] == 200:
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not answer within {START_TIMEOUT} s:\n{server.log()}")


def start_gunicorn(tmp_path: Path, stdout: Path | None = None, **env_overrides) -> Server:
    """The shipped configuration, as `make run` and the container start it."""
    command = [sys.executable, "-m", "gunicorn", "-c", "otpsite/gunicorn.conf.py"]
    return start(command, tmp_path, free_port(), stdout, **env_overrides)


def start_runserver(tmp_path: Path, **env_overrides) -> Server:
    port = free_port()
    command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    return start(command, tmp_path, port, **env_overrides)


def start_instances(
    cleanup: contextlib.ExitStack, tmp_path_factory, label: str, count: int = 2, **env_overrides
) -> list[Server]:
    """`count` instances of the shipped configuration sharing `env_overrides` (a database, say),
    started one after the other, so the first has migrated before the next starts; each is
    stopped when `cleanup` closes."""
    servers = []
    for _ in range(count):
        server = start_gunicorn(tmp_path_factory.mktemp(label), **env_overrides)
        cleanup.callback(server.stop)
        servers.append(server)
    return servers
