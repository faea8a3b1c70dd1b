"""The Makefile as people use it: `make dev` binds HOST:PORT, `make test` leaves the tree clean."""

import http.client
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from rest_framework import status

from tests.support.servers import ROOT, START_TIMEOUT, free_port

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")

# The venv is there already: make must not reinstall it because a requirement file is newer.
NO_INSTALL = ["-o", ".venv/.run-installed", "-o", ".venv/.dev-installed"]


def health(host: str, port: int) -> int | None:
    """The status of GET /health at host:port, or None if nothing answers there."""
    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        # A name ALLOWED_HOSTS always holds, whatever address the server listens on.
        connection.request("GET", "/health", headers={"Host": "localhost"})
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def make_dev_answers(tmp_path: Path, host: str, port: int, **env) -> bool:
    """Run `make dev` with `env` over the test environment; whether it served /health at
    host:port before START_TIMEOUT. Its whole process group is stopped afterwards."""
    environment = {**os.environ, "DATA_DIR": str(tmp_path / "data"), **env}
    for name in [name for name, value in environment.items() if value is None]:
        del environment[name]
    with (tmp_path / "make-dev.log").open("w") as log:
        process = subprocess.Popen(
            ["make", "--no-print-directory", *NO_INSTALL, "dev"],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make, runserver and its autoreloader's child: one group
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT + 20  # make dev migrates first
        while time.monotonic() < deadline and process.poll() is None:
            if health(host, port) == status.HTTP_200_OK:
                return True
            time.sleep(0.2)
        return False
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_make_dev_listens_on_host_and_port_from_the_environment(tmp_path):
    port = free_port()
    assert make_dev_answers(tmp_path, "127.0.0.1", port, HOST="127.0.0.1", PORT=str(port)), (
        tmp_path / "make-dev.log"
    ).read_text()


def test_make_dev_listens_on_host_and_port_from_the_env_file(tmp_path):
    # 127.0.0.2: not runserver's own default of 127.0.0.1, so the address is the file's doing.
    port = free_port()
    env_file = tmp_path / "otp.env"
    env_file.write_text(f"HOST=127.0.0.2\nPORT={port}\n")
    had_dotenv = (ROOT / ".env").exists()
    answered = make_dev_answers(
        tmp_path, "127.0.0.2", port, ENV_FILE=str(env_file), HOST=None, PORT=None
    )
    assert answered, (tmp_path / "make-dev.log").read_text()
    # With ENV_FILE given, make writes no .env of its own into the project.
    assert (ROOT / ".env").exists() == had_dotenv


# --- make test -------------------------------------------------------------------------------

TIDY_TEST = """
from otp.core import totp


def test_tidy():
    assert totp.DEFAULT.digits == 6
"""
LITTERING_TEST = """
from pathlib import Path


def test_litter():
    (Path(__file__).resolve().parent.parent / "litter.txt").write_text("left behind")
"""


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A fresh repository holding the project as it is now, sharing this venv."""
    folder = tmp_path_factory.mktemp("clone")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        source = ROOT / name
        if source.is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    (folder / "tests" / "test_tidy.py").write_text(TIDY_TEST)
    (folder / "tests" / "test_litter.py").write_text(LITTERING_TEST)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "clone"]):
        subprocess.run([*git, *command], cwd=folder, check=True, capture_output=True)
    (folder / ".venv").symlink_to(ROOT / ".venv")
    return folder


def make_test(folder: Path, test_file: str) -> subprocess.CompletedProcess:
    """`make test` in `folder`, running pytest on `test_file` alone. Lint is left out (MAKE=true
    stands in for its sub-make): the tree's formatting is not what this checks."""
    return subprocess.run(
        [
            "make",
            "--no-print-directory",
            *NO_INSTALL,
            "test",
            "MAKE=true",
            f"PYTEST_ARGS={test_file}",
        ],
        cwd=folder,
        env={key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def git_status(folder: Path) -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--ignored"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_make_test_leaves_the_work_tree_as_it_found_it(clone):
    before = git_status(clone)
    result = make_test(clone, "tests/test_tidy.py")
    assert result.returncode == 0, result.stdout + result.stderr
    # No test data, no bytecode, no pytest or ruff cache: only the venv, as before.
    assert git_status(clone) == before == "?? .venv\n"


def test_make_test_fails_when_a_test_leaves_a_file_behind(clone):
    result = make_test(clone, "tests/test_litter.py")
    (clone / "litter.txt").unlink()
    assert result.returncode != 0
    assert "make test changed the work tree" in result.stdout
    assert "> ?? litter.txt" in result.stdout
