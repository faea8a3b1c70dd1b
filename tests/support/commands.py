"""`manage.py` run as a real process, for the tests that check exit codes, stdout and stderr."""

import os
import subprocess
import sys

from tests.support.servers import ROOT


def manage(data_dir, *args, stdin="", check=False, **env_overrides):
    """Run `manage.py ARGS` on the SQLite database in `data_dir`, no .env read; `env_overrides`
    are set on top of the test environment."""
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
