"""The sync workers the service shipped before gevent (two processes, one request each at a
time, no keep-alive), for side-by-side runs: BENCH_GUNICORN_ARGS="-c bench/sync.conf.py"."""

from otpsite.gunicorn_common import *  # noqa: F403

worker_class = "sync"
