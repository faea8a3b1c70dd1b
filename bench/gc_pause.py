"""How long a full garbage collection stops a worker, with the master's objects frozen or not.

Loads the app as gunicorn's master does (gevent patched, Django set up, the WSGI app imported),
then times gc.collect() three times, freezes what is loaded (otpsite/gunicorn_common.py's
pre_fork) and times it again. Every greenlet of a worker waits while a collection runs.
Run: .venv/bin/python -m bench.gc_pause
"""

from gevent import monkey

monkey.patch_all()

import base64  # noqa: E402
import gc  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

os.environ.update(
    ENV_FILE="",
    DATA_DIR=tempfile.mkdtemp(prefix="otp-gc-"),
    API_KEY=secrets.token_urlsafe(32),
    OTP_SECRET=base64.b32encode(secrets.token_bytes(20)).decode(),
    DJANGO_SETTINGS_MODULE="otpsite.settings",
)


def full_collection_ms() -> float:
    started = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    from otpsite.wsgi import application  # noqa: F401 (loaded as the master loads it)

    print(f"objects tracked after loading the app: {len(gc.get_objects()):,}")
    loaded = [full_collection_ms() for _ in range(3)]
    print("full collection, ms:", " ".join(f"{ms:.1f}" for ms in loaded))
    gc.freeze()
    frozen = [full_collection_ms() for _ in range(3)]
    print("the same after gc.freeze(), ms:", " ".join(f"{ms:.2f}" for ms in frozen))


if __name__ == "__main__":
    main()
