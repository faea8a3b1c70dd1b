#!/usr/bin/env bash
# Load test of GET /otp (against a bare WSGI floor), GET /accounts/<name>/otp by a scoped client,
# POST /otp/verify and v2-signed GET /otp, over SQLite or PostgreSQL + Redis, under the shipped
# gunicorn config or a variant, counting the audit records each run writes (see bench/loadtest.py
# for the BENCH_* settings and docs/PERFORMANCE.md for results).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
    echo "bench: wrk is not installed (Debian package wrk)" >&2
    exit 1
fi
if [[ ! -x .venv/bin/gunicorn ]]; then
    echo "bench: .venv/bin/gunicorn is missing; run 'make bench', which installs it" >&2
    exit 1
fi
exec .venv/bin/python -m bench.loadtest
