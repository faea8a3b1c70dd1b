# syntax=docker/dockerfile:1
# otp-service: gunicorn serving the Django app as a non-root user.
#   docker build -t otp-service .
#   docker run -p 127.0.0.1:8000:8000 -e API_KEY=... -e OTP_SECRET=... otp-service

# The Python the tests run on. An ARG so a machine with no registry can build on a local stand-in
# (container/test.sh does).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: a venv with the pinned runtime requirements, nothing else ---
FROM ${PYTHON_IMAGE} AS builder

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN python -m venv /opt/venv

COPY requirements.txt /tmp/requirements.txt

# Optional build secrets, for a network that needs them (a private index, a TLS-intercepting
# proxy): `pip_conf` becomes pip's config file and `pip_ca` is a CA bundle that file may name as
# /run/secrets/pip_ca. A secret is mounted for this step only and is in no layer; without them
# pip uses its defaults.
RUN --mount=type=secret,id=pip_conf,target=/etc/pip.conf \
    --mount=type=secret,id=pip_ca \
    /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt

# --- runtime: the venv and the app code, run by a fixed non-root UID ---
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/opt/venv/bin:${PATH}"

# A fixed UID/GID, so volumes and runAsNonRoot policies can name it; no home and no shell.
# (Not --system: that range ends at 999.)
RUN groupadd --gid 10001 otp \
    && useradd --uid 10001 --gid otp --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin otp

COPY --from=builder /opt/venv /opt/venv

# Only what the service runs: no tests, no .env (also kept out of the context by .dockerignore).
# Owned by root and read-only to the service user, so a compromised worker cannot rewrite it.
WORKDIR /app
COPY manage.py ./
COPY otpsite/ otpsite/
COPY otp/ otp/

# The SQLite database (the default storage) lives on a volume the service user owns; with
# DATABASE_URL pointing at PostgreSQL it stays empty. gunicorn's master applies migrations at
# start, before it binds.
ENV DATA_DIR=/data
# 0700: a fresh named volume takes this mode, and the database files in it are made 0600.
RUN install -d -m 0700 -o 10001 -g 10001 /data
VOLUME ["/data"]

USER 10001:10001
EXPOSE 8000

# The venv's python and urllib: no curl in the image. urlopen raises on a refused connection, a
# timeout or a non-2xx status, so any of them exits non-zero. PORT is read from the environment
# as gunicorn gets it (a PORT set only in an ENV_FILE is not seen here).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/opt/venv/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/health', timeout=4)"]

# Exec form: gunicorn is PID 1 and gets SIGTERM itself for a graceful stop.
CMD ["gunicorn", "-c", "otpsite/gunicorn.conf.py"]
