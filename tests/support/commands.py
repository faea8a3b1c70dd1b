"""`manage.py` for the tests: `otp` called in-process, or any command run as a real process."""

import io
import os
import subprocess
import sys
from typing import NamedTuple

from django.core.management import call_command

from tests.support.servers import ROOT


class Printed(NamedTuple):
    out: str
    err: str


def call_otp(*args, stdin="") -> Printed:
    """What `manage.py otp ARGS` printed, called in this process with `stdin` as its standard
    input; a refusal raises its CommandError."""
    out, err = io.StringIO(), io.StringIO()
    call_command("otp", *args, stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return Printed(out.getvalue(), err.getvalue())


def manage(data_dir, *args, stdin="", check=False, **env_overrides):
    """Run `manage.py ARGS` on the SQLite database in `data_dir`, no .env read; `env_overrides`
    are set on top of the test environment. For the tests that check exit codes, stdout and
    stderr."""
    env = {**os.environ, "ENV_FILE": "", "DATA_DIR": str(data_dir), **env_overrides}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )
