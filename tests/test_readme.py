"""The README's client examples work as printed, against the real server."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.servers import ROOT, start_gunicorn

API_KEY = os.environ["API_KEY"]
BLOCKS = re.findall(r"```(sh|python)\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def examples(marker):
    """The code blocks containing `marker`, pointed at the test server's key."""
    found = [(lang, code) for lang, code in BLOCKS if marker in code]
    assert found, f"no README block contains {marker!r}"
    return found


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    server = start_gunicorn(tmp_path_factory.mktemp("readme"))
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def run(lang, code, base_url):
    code = (
        code.replace("http://localhost:8000", base_url)
        .replace('API_KEY = "..."', f'API_KEY = "{API_KEY}"')
        .replace('"..."', f'"{API_KEY}"')
        .replace("API_KEY=...", f"API_KEY={API_KEY}")
    )
    command = ["bash", "-c", code] if lang == "sh" else [sys.executable, "-c", code]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_python_v2_example_gets_a_code_and_a_verdict(base_url):
    ((lang, code),) = examples("def v2_headers")
    code_line, verdict = run(lang, code, base_url).split()
    assert re.fullmatch(r"\d{6}", code_line)
    assert verdict in {"True", "False"}


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_bash_openssl_v2_example_gets_a_code_and_a_verdict(base_url):
    ((lang, code),) = examples("v2_curl()")
    out = run(lang, code, base_url)
    assert re.search(r'"otp":"\d{6}"', out)
    assert re.search(r'"valid":(true|false)', out)


def test_curl_examples_answer(base_url):
    ((lang, code),) = examples("openssl dgst -sha256 -hmac \"$API_KEY\" | sed 's/^.* //')\ncurl")
    out = run(lang, code, base_url)
    assert out.count('"otp":') == 2  # /otp and /otp/secure
    assert '"valid":' in out
