"""The documented examples work as printed, against the real server: the README's first request,
the client examples of docs/api.md and the QR-code walk-through of docs/operations.md. Their shell
commands run in a folder laid out like the project (the venv, manage.py and a .env), as someone
following them runs them, with nothing activated."""

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import segno
from rest_framework import status

from otp.core import totp
from tests.support.servers import ROOT, Server, start_gunicorn

API_KEY = os.environ["API_KEY"]
README = (ROOT / "README.md").read_text()
# Where readers find examples to run: the front page, the HTTP contract, the operator's guide.
DOCS = ["README.md", "docs/api.md", "docs/operations.md", "docs/security.md"]
BLOCKS = [
    block
    for doc in DOCS
    for block in re.findall(r"```(sh|python)\n(.*?)```", (ROOT / doc).read_text(), re.S)
]
# Stands in for the bot's secret store: `gh secret set NAME` writes what it reads to the file NAME.
FAKE_GH = 'gh() { [ "$1 $2" = "secret set" ] && cat > "$3"; }\n'
CLIENT_KEY = re.compile(r"otp_[A-Za-z0-9_-]{43}")


def examples(marker):
    """The code blocks containing `marker`, unindented (blocks inside list items are indented)."""
    found = [(lang, textwrap.dedent(code)) for lang, code in BLOCKS if marker in code]
    assert found, f"no block of {', '.join(DOCS)} contains {marker!r}"
    return found


def project_folder(folder: Path) -> Path:
    """`folder` laid out as the project is after `make run`: .venv, manage.py and a .env."""
    folder.mkdir(exist_ok=True)
    (folder / ".venv").symlink_to(ROOT / ".venv")
    (folder / "manage.py").symlink_to(ROOT / "manage.py")
    # API_KEYS after API_KEY: a `grep ^API_KEY` would take both lines.
    (folder / ".env").write_text(f"API_KEY={API_KEY}\nAPI_KEYS=another-key-0123456789abcdef\n")
    return folder


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return project_folder(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    server = start_gunicorn(tmp_path_factory.mktemp("readme"))
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def run(lang, code, base_url, cwd, env=None):
    """Run a documented block in the project folder `cwd`, pointed at the test server (the port is
    the only change; a Python example gets the key for its "..."); its stdout."""
    code = code.replace("http://localhost:8000", base_url)
    if lang == "python":
        code = code.replace('"..."', f'"{API_KEY}"')
    command = ["bash", "-c", code] if lang == "sh" else [sys.executable, "-c", code]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=60, check=False, env=env, cwd=cwd
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_first_curl_works_as_printed(base_url, project):
    (command,) = re.findall(r"`(curl -H \"X-API-Key: \$\(grep [^`]*)`", README)
    out = run("sh", command.replace("localhost:8000", base_url), base_url, project)
    assert re.fullmatch(r"\d{6}", json.loads(out)["otp"])


def test_no_shell_example_needs_an_activated_venv():
    # A fresh shell has no `python` of the project's (Debian has none at all): the venv's is named.
    for _, code in BLOCKS:
        assert not re.search(r"(?<!\.venv/bin/)python manage\.py", code), code


def test_python_v2_example_gets_a_code_and_a_verdict(base_url, project):
    ((lang, code),) = examples("def v2_headers")
    code_line, verdict = run(lang, code, base_url, project).split()
    assert re.fullmatch(r"\d{6}", code_line)
    assert verdict in {"True", "False"}


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_bash_openssl_v2_example_gets_a_code_and_a_verdict(base_url, project):
    ((lang, code),) = examples("v2_curl()")
    out = run(lang, code, base_url, project)
    assert re.search(r'"otp":"\d{6}"', out)
    assert re.search(r'"valid":(true|false)', out)


def test_curl_examples_answer(base_url, project):
    ((lang, code),) = examples("openssl dgst -sha256 -hmac \"$API_KEY\" | sed 's/^.* //')\ncurl")
    out = run(lang, code, base_url, project)
    assert out.count('"otp":') == 2  # /otp and /otp/secure
    assert '"valid":' in out


# --- From a QR code to a bot that gets codes ---


def example_uri() -> tuple[str, str]:
    """The otpauth URI the walk-through's QR code shows, and its secret."""
    ((_, code),) = examples("# qr.png shows otpauth://")
    uri = re.search(r"otpauth://totp/\S+", code).group()
    return uri, parse_qs(urlsplit(uri).query)["secret"][0]


@dataclass
class Operator:
    """The server and the shell of someone following the walk-through, in a folder of their own."""

    server: Server
    env: dict
    folder: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def step(self, marker: str, **env) -> str:
        """Run the documented block holding `marker`; its stdout."""
        ((lang, code),) = examples(marker)
        if lang == "sh":
            code = FAKE_GH + code
        return run(lang, code, self.base_url, self.folder, {**self.env, **env})

    def env_with(self, bot_key: str) -> dict:
        """The bot's environment: its key from the secret store."""
        return {**self.env, "OTP_API_KEY": bot_key}

    def stored(self, name: str) -> str:
        """What the walk-through put into the bot's secret store under `name`."""
        return (self.folder / name).read_text()

    def get(self, path: str, api_key: str) -> tuple[int, dict]:
        status_code, _, body = self.server.request("GET", path, headers={"X-API-Key": api_key})
        return status_code, json.loads(body)

    def scan_qr_code(self) -> str:
        """Leave what step 1 leaves, the screenshot of the QR code; return its secret."""
        uri, secret = example_uri()
        segno.make(uri).save(self.folder / "qr.png", scale=4)
        return secret


@pytest.fixture
def operator(tmp_path):
    """A server of its own, with its own DATA_DIR and a fresh OTP_ENCRYPTION_KEYS that the
    operator's commands share."""
    encryption_key = base64.b64encode(secrets.token_bytes(32)).decode()
    server = start_gunicorn(tmp_path, OTP_ENCRYPTION_KEYS=encryption_key)
    folder = project_folder(tmp_path / "operator")
    env = {
        **os.environ,
        "ENV_FILE": "",
        "DATA_DIR": str(tmp_path / "data"),  # the server's (tests.support.servers.start)
        "OTP_ENCRYPTION_KEYS": encryption_key,
    }
    yield Operator(server, env, folder)
    server.stop()


def assert_current_code(out: str, secret: str) -> None:
    body = json.loads(out)
    assert body["otp"] == totp.code_at(secret, body["timestamp"])
    assert body["valid_for_seconds"] == totp.seconds_left(body["timestamp"])


def test_walkthrough_takes_a_qr_code_to_a_bot_with_a_key_of_its_own(operator):
    secret = operator.scan_qr_code()

    added = operator.step("otp account add github-bot --qr qr.png")
    assert added == "added account github-bot (issuer GitHub, SHA1, 6 digits, every 30 s)\n"
    assert not (operator.folder / "qr.png").exists()

    # The code that confirms the site's set-up, fetched with the environment key.
    assert_current_code(operator.step("$BASE/accounts/github-bot/otp"), secret)

    # The bot's key goes into its secret store, and nowhere else.
    assert operator.step("> github-ci.key)") == ""
    bot_key = operator.stored("OTP_API_KEY")
    assert CLIENT_KEY.fullmatch(bot_key)
    assert not (operator.folder / "github-ci.key").exists()

    assert_current_code(operator.step('-H "X-API-Key: $OTP_API_KEY"', OTP_API_KEY=bot_key), secret)

    before = int(time.time())
    ((lang, code),) = examples("def github_code")
    out = run(
        lang,
        code + "\nprint(github_code())",
        operator.base_url,
        operator.folder,
        operator.env_with(bot_key),
    )
    after = int(time.time())
    assert out.strip() in {totp.code_at(secret, at) for at in range(before, after + 1)}

    # "Anything else is refused."
    assert operator.get("/accounts", bot_key) == (
        status.HTTP_200_OK,
        {
            "accounts": [
                {
                    "name": "github-bot",
                    "issuer": "GitHub",
                    "algorithm": "SHA1",
                    "digits": 6,
                    "period": 30,
                    "exclusive": False,
                }
            ]
        },
    )
    assert operator.get("/otp", bot_key)[0] == status.HTTP_404_NOT_FOUND
    verify = operator.server.request(
        "POST",
        "/accounts/github-bot/otp/verify",
        body=json.dumps({"otp": "123456"}),
        headers={"X-API-Key": bot_key, "Content-Type": "application/json"},
    )
    assert verify[0] == status.HTTP_403_FORBIDDEN


def test_walkthrough_moves_the_bot_to_signed_requests_and_ends_the_old_key(operator):
    secret = operator.scan_qr_code()
    operator.step("otp account add github-bot --qr qr.png")
    operator.step("> github-ci.key)")
    old_key = operator.stored("OTP_API_KEY")

    assert operator.step("> github-ci-signed.key)") == ""
    signing_key = operator.stored("OTP_API_KEY")
    assert CLIENT_KEY.fullmatch(signing_key)
    assert signing_key != old_key

    # The bot signs with docs/api.md's v2_headers, as step 6 says.
    ((lang, code),) = examples("def v2_headers")
    helper, found, _ = code.partition("\nBASE, API_KEY =")
    assert found, "the v2 example no longer sets BASE, API_KEY after its helper"
    request = textwrap.dedent(
        """
        import os

        path = "/accounts/github-bot/otp"
        headers = v2_headers(os.environ["OTP_API_KEY"], "GET", path)
        request = urllib.request.Request("http://localhost:8000" + path, headers=headers)
        with urllib.request.urlopen(request, timeout=5) as response:
            print(response.read().decode())
        """
    )
    out = run(
        lang, helper + request, operator.base_url, operator.folder, operator.env_with(signing_key)
    )
    assert_current_code(out, secret)
    # Sent as X-API-Key, the signing client's key is refused.
    assert operator.get("/accounts/github-bot/otp", signing_key)[0] == status.HTTP_401_UNAUTHORIZED

    assert operator.get("/accounts/github-bot/otp", old_key)[0] == status.HTTP_200_OK
    operator.step("otp client revoke github-ci")
    assert operator.get("/accounts/github-bot/otp", old_key)[0] == status.HTTP_401_UNAUTHORIZED


# A key is shown once: a step whose secret store fails must leave it where the operator can
# still take it (today's `KEY=$(...) && ... | gh ...` kept it only in a shell variable).
BROKEN_GH = "gh() { echo 'gh: not logged in' >&2; return 1; }\n"


@pytest.mark.parametrize(
    ("client", "key_file"),
    [("github-ci", "github-ci.key"), ("github-ci-signed", "github-ci-signed.key")],
)
def test_a_step_whose_secret_store_fails_keeps_the_key_in_a_private_file(
    operator, client, key_file
):
    operator.scan_qr_code()
    operator.step("otp account add github-bot --qr qr.png")
    ((_, code),) = examples(f"> {key_file})")
    result = subprocess.run(
        ["bash", "-c", BROKEN_GH + code],
        cwd=operator.folder,
        env=operator.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0  # the step says it failed
    kept = operator.folder / key_file
    assert kept.stat().st_mode & 0o777 == 0o600
    key = kept.read_text().strip()
    assert CLIENT_KEY.fullmatch(key)
    # It is the client's live key.
    listed = subprocess.run(
        [".venv/bin/python", "manage.py", "otp", "client", "list", "--format", "json"],
        cwd=operator.folder,
        env=operator.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    (row,) = [row for row in map(json.loads, listed.splitlines()) if row["name"] == client]
    assert row["key_ids"] == [hashlib.sha256(key.encode()).hexdigest()[:16]]
