"""`pip install ./clients/python` into a fresh venv: it installs alone, with nothing else, and
leaves the repository as it found it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import flit_core

from tests.support.servers import ROOT

PACKAGE = ROOT / "clients" / "python"
STEP_TIMEOUT = 180


def tree(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def run(command: list, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=STEP_TIMEOUT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_package_installs_into_a_fresh_venv_with_nothing_else(tmp_path):
    # Neither this machine's pip configuration nor the project's venv takes part.
    env = {name: value for name, value in os.environ.items() if not name.startswith("PIP_")}
    env |= {"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("VIRTUAL_ENV", None)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], env, tmp_path)
    # pip would download the build backend (flit_core, pure Python, no dependencies) into an
    # isolated build environment; offline, the build takes the copy pinned in
    # requirements-dev.txt from this venv instead.
    backend = tmp_path / "backend"
    shutil.copytree(Path(flit_core.__file__).parent, backend / "flit_core")
    before = tree(PACKAGE)

    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    install = [*pip, "install", "--no-index", "--no-build-isolation", "./clients/python"]
    run(install, env | {"PYTHONPATH": str(backend)}, ROOT)

    assert tree(PACKAGE) == before  # no build/, no *.egg-info, no bytecode
    listed = run([*pip, "list", "--format=freeze"], env, tmp_path).stdout.split()
    names = {line.split("==")[0].lower() for line in listed}
    assert names - {"pip", "setuptools"} == {"otp-service-client"}
    imported = run(
        [str(venv / "bin" / "python"), "-c", "import otp_client; print(otp_client.Client)"],
        env,
        tmp_path,
    )
    assert "otp_client.client.Client" in imported.stdout
    shown = run([str(venv / "bin" / "otp-client"), "--help"], env, tmp_path)
    assert shown.stdout.startswith("usage: otp-client")
