"""The folder where gunicorn's workers keep their Prometheus figures (otp/metrics.py).

prometheus-client's multiprocess mode: each worker writes its values to files of its own in
PROMETHEUS_MULTIPROC_DIR, and a scrape adds up every file there. The variable must be set
before prometheus-client is first imported, so the master sets it while reading its config,
before it loads the app. Figures from an earlier run would be added in too: the folder starts
empty each time.
"""

import os
import shutil
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_made_here: list[Path] = []


def prepare() -> Path:
    """An empty folder for this run's figures: PROMETHEUS_MULTIPROC_DIR emptied if it is set,
    else a new one under the temporary directory (a tmpfs or emptyDir in a container)."""
    given = os.environ.get(VARIABLE)
    if given:
        folder = Path(given)
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            for stale in folder.glob("*.db"):
                stale.unlink()
        except OSError:
            raise ImproperlyConfigured(f"{VARIABLE} cannot be created or emptied") from None
    else:
        folder = Path(tempfile.mkdtemp(prefix="otp-metrics-"))
        _made_here.append(folder)
        os.environ[VARIABLE] = str(folder)
    return folder


def worker_exited(pid: int) -> None:
    """Drop a dead worker's gauges; its counters stay in the sums (they never go down)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)


def remove() -> None:
    """At the master's exit: the folder it made goes with it (one it was given stays)."""
    for folder in _made_here:
        shutil.rmtree(folder, ignore_errors=True)
