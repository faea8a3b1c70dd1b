"""schemathesis against a live gunicorn: every answer, to valid and invalid requests alike, is one
its OpenAPI schema declares, in the declared shape.

GET /otp/secure needs a signature of the current time, which schemathesis cannot make: here it
meets only refusals (its 200 is tested in tests/api/test_authentication.py).
"""

import base64
import json
import os
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.commands import manage
from tests.support.servers import ROOT, Server, start_gunicorn

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = ROOT / "tests" / "servers" / "schemathesis.toml"
ACCOUNT = "fuzz-bot"  # also in schemathesis.toml's dictionary of names
# Per operation and phase; with 8 operations a run takes about 10 s on an idle machine.
MAX_EXAMPLES = 25
RUN_TIMEOUT = 240


@dataclass
class FuzzTarget:
    server: Server
    scoped_key: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    """gunicorn with the docs on, the account ACCOUNT, and a client scoped to it.

    AUTH_FAILURE_LIMIT=0: the checks send requests with no or wrong keys on purpose, and a
    lockout of the loopback address would turn every later answer into 429, testing nothing.
    """
    assert SCHEMATHESIS.exists(), "schemathesis is missing: pip install -r requirements-dev.txt"
    folder = tmp_path_factory.mktemp("fuzz")
    server = start_gunicorn(folder, ENABLE_DOCS="true", AUTH_FAILURE_LIMIT="0")
    data_dir = folder / "data"
    secret = base64.b32encode(secrets.token_bytes(20)).decode()
    added = manage(data_dir, "otp", "account", "add", ACCOUNT, stdin=secret + "\n")
    assert added.returncode == 0, added.stderr
    # May see ACCOUNT only, and fetch its codes but not verify them: /otp answers 404 and
    # /accounts/fuzz-bot/otp/verify 403.
    created = manage(
        data_dir, "otp", "client", "create", "scoped", "--account", ACCOUNT, "--issue", "--quiet"
    )
    assert created.returncode == 0, created.stderr
    yield FuzzTarget(server, scoped_key=created.stdout.strip())
    server.stop()


def run_schemathesis(
    schema: str, api_key: str, folder: Path, *options: str
) -> subprocess.CompletedProcess:
    """`schemathesis run` on `schema` (a URL or file) with every check, bounded in examples."""
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        schema,
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        "1",
        "--request-timeout",
        "10",
        *options,
    ]
    return subprocess.run(
        command,
        cwd=folder,  # anything it writes stays out of the work tree
        env={**os.environ, "FUZZ_API_KEY": api_key},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


@pytest.mark.parametrize("identity", ["api_key", "scoped_client"])
def test_every_answer_is_one_the_schema_declares(target, identity, tmp_path):
    """The service key sees every account; the scoped client meets the 403s and 404s."""
    api_key = os.environ["API_KEY"] if identity == "api_key" else target.scoped_key
    result = run_schemathesis(f"{target.url}/openapi.json", api_key, tmp_path)
    report = result.stdout + result.stderr
    assert result.returncode == 0, f"{report}\n--- server log:\n{target.server.log()[-5000:]}"
    generated = re.search(r"(\d+) generated", report)
    assert generated, report
    assert int(generated[1]) > 0, report  # it ran, and tested something


def test_a_status_missing_from_the_schema_fails_the_run(target, tmp_path):
    """The run above can fail: the same checks, on the served schema less /otp's 404."""
    schema = json.loads(target.server.request("GET", "/openapi.json")[2])
    del schema["paths"]["/otp"]["get"]["responses"]["404"]
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(schema))
    result = run_schemathesis(
        str(path),
        target.scoped_key,  # may not see the default account: /otp is 404
        tmp_path,
        "--url",
        target.url,
        "--include-path",
        "/otp",
        "--include-method",
        "GET",
    )
    report = result.stdout + result.stderr
    assert result.returncode != 0, report
    assert "Undocumented status code" in report, report
