"""The Node.js example of docs/api.md works as printed, with Node's own fetch and crypto only,
against the real server: a signed request gets the current code, verifies it once, and the
service's error ends a script; its Playwright usage fills in the current code."""

import json
import os
import re
import shutil
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from otp.core import totp
from tests.support.backends import unavailable
from tests.support.servers import ROOT, start_gunicorn

API_KEY = os.environ["API_KEY"]
OTP_SECRET = os.environ["OTP_SECRET"]
WRONG_KEY = "wrong-key-0123456789abcdef"
NODE_TIMEOUT = 30
JS_BLOCKS = re.findall(r"```(?:js|javascript)\n(.*?)```", (ROOT / "docs/api.md").read_text(), re.S)
# Each block names the file the reader saves it as on its first line: `// otp-service.js`.
FILE_NAME = re.compile(r"// ([\w.-]+\.js)\b")
# Stands in for @playwright/test: runs each test at once, with a page (and an expect) that prints
# every call made on it as a JSON line, e.g. ["page.getByLabel().fill", "482910"].
FAKE_PLAYWRIGHT = textwrap.dedent(
    """
    function recorder(path) {
      return new Proxy(() => {}, {
        get: (_, name) =>
          name === "then" || name === "toJSON" ? undefined : recorder(`${path}.${String(name)}`),
        apply: (_, __, args) => {
          console.log(JSON.stringify([path, ...args]));
          return recorder(`${path}()`);
        },
      });
    }
    export const test = (name, body) => body({ page: recorder("page") });
    export const expect = recorder("expect");
    """
)


@pytest.fixture(scope="module")
def node():
    """The `node` to run the examples with: Node 18 or later (built-in fetch)."""
    found = shutil.which("node")
    if found is None:
        unavailable("Node.js is not installed (no `node` on PATH)")
    version = subprocess.run(
        [found, "--version"], capture_output=True, text=True, timeout=NODE_TIMEOUT, check=True
    ).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < 18:
        unavailable(f"Node.js {version} has no built-in fetch: 18 or later is needed")
    return found


@pytest.fixture(scope="module")
def rig(tmp_path_factory) -> Path:
    """A Playwright project as the docs leave it: an ES module package holding the example's
    files under their names, and a stand-in for @playwright/test."""
    folder = tmp_path_factory.mktemp("rig")
    (folder / "package.json").write_text('{"type": "module", "private": true}\n')
    for code in JS_BLOCKS:
        name = FILE_NAME.match(code)
        assert name, f"a js block of docs/api.md names no file to save it as:\n{code}"
        (folder / name[1]).write_text(code)
    assert {"otp-service.js", "login.spec.js"} <= {path.name for path in folder.glob("*.js")}
    fake = folder / "node_modules" / "@playwright" / "test"
    fake.mkdir(parents=True)
    (fake / "package.json").write_text(
        '{"name": "@playwright/test", "type": "module", "main": "index.js"}\n'
    )
    (fake / "index.js").write_text(FAKE_PLAYWRIGHT)
    return folder


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    # Every key must sign: a request that sent the key as X-API-Key would be 401.
    server = start_gunicorn(tmp_path_factory.mktemp("node"), REQUIRE_SIGNED_REQUESTS="true")
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def run_node(node, rig, base_url, name, source="", key=API_KEY) -> subprocess.CompletedProcess:
    """Run the rig's file `name` (written first from `source`, if given) with the service's URL
    and key in the environment, as the docs say to run it."""
    if source:
        (rig / name).write_text(textwrap.dedent(source))
    env = {**os.environ, "OTP_SERVICE_URL": base_url, "OTP_SERVICE_KEY": key}
    return subprocess.run(
        [node, name],
        cwd=rig,
        env=env,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )


def current_codes(before: int, after: int) -> set[str]:
    """The codes of `default` at any second from before to after."""
    return {totp.code_at(OTP_SECRET, at) for at in range(before, after + 1)}


def test_a_signed_request_gets_the_current_code(node, rig, base_url):
    result = run_node(
        node,
        rig,
        base_url,
        "get.js",
        """
        import { signedRequest } from "./otp-service.js";
        console.log(JSON.stringify(await signedRequest("GET", "/accounts/default/otp")));
        """,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["otp"] == totp.code_at(OTP_SECRET, answer["timestamp"])
    assert answer["valid_for_seconds"] == totp.seconds_left(answer["timestamp"])


def test_a_code_verifies_once_then_is_a_replay(node, rig, base_url):
    before = int(time.time())
    result = run_node(
        node,
        rig,
        base_url,
        "verify.js",
        """
        import { otpCode, verifyOtp } from "./otp-service.js";
        const code = await otpCode("default");
        const first = await verifyOtp("default", code);
        const again = await verifyOtp("default", code);
        console.log(JSON.stringify({ code, first, again }));
        """,
    )
    after = int(time.time())
    assert result.returncode == 0, result.stderr
    verdicts = json.loads(result.stdout)
    assert verdicts["code"] in current_codes(before, after)
    assert (verdicts["first"], verdicts["again"]) == (True, False)


@pytest.mark.parametrize(
    ("key", "account", "error"),
    [
        (WRONG_KEY, "default", "otp-service answered 401: Invalid or missing request signature"),
        (API_KEY, "no-such-account", "otp-service answered 404: Account not found"),
    ],
    ids=["wrong-key", "unknown-account"],
)
def test_an_error_answer_fails_the_script_with_the_services_message(
    node, rig, base_url, key, account, error
):
    result = run_node(
        node,
        rig,
        base_url,
        "error.js",
        f"""
        import {{ otpCode }} from "./otp-service.js";
        console.log(await otpCode("{account}"));
        """,
        key=key,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    assert f"OtpServiceError: {error}\n" in result.stderr


def test_the_playwright_usage_fills_in_the_current_code(node, rig, base_url):
    spec = rig / "login.spec.js"
    # The example's account is github-bot; this server has only `default`.
    assert spec.read_text().count('otpCode("github-bot")') == 1
    spec.write_text(spec.read_text().replace('otpCode("github-bot")', 'otpCode("default")'))
    before = int(time.time())
    result = run_node(node, rig, base_url, "login.spec.js")
    after = int(time.time())
    assert result.returncode == 0, result.stderr
    calls = [json.loads(line) for line in result.stdout.splitlines()]
    filled = [args for method, *args in calls if method.endswith(".fill")]
    assert len(filled) == 1, calls
    assert filled[0][0] in current_codes(before, after)
