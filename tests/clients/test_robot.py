"""The Robot Framework library: a real .robot suite (otp_service.robot) run by `python -m robot`
against a live gunicorn."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = [pytest.mark.server, pytest.mark.usefixtures("clean_log")]

SUITE = Path(__file__).with_name("otp_service.robot")
TESTS_IN_SUITE = 5


def test_the_robot_suite_passes_against_the_service(service, tmp_path):
    env = {
        **os.environ,
        "OTP_SERVICE_URL": service.url,
        "OTP_SERVICE_KEY": service.signer,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    robot = [sys.executable, "-m", "robot", "--outputdir", str(tmp_path), "--consolecolors", "off"]
    result = subprocess.run(
        [*robot, str(SUITE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Robot's exit status is the number of failed tests.
    assert result.returncode == 0, result.stdout + result.stderr
    # The file the run above wrote, not untrusted input.
    output = ET.parse(tmp_path / "output.xml")  # noqa: S314
    statistics = output.find("statistics/total/stat")
    assert (statistics.get("pass"), statistics.get("fail")) == (str(TESTS_IN_SUITE), "0")
    # The key was given through the environment: no output file holds it.
    for name in ("output.xml", "log.html", "report.html"):
        assert service.signer not in (tmp_path / name).read_text()
