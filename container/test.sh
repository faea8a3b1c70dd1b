#!/usr/bin/env bash
# `make container-test`: build the otp-service image with podman and check it on loopback.
#
# No container registry is reachable from the machines this runs on, so the image is built on a
# python:3.11-slim-bookworm stand-in made here from Debian's own packages (container/lib.sh,
# container/python-standin.Containerfile); it stays in podman's storage, so only the first run
# pays for it; REBUILD_BASE=1 remakes it.
# The Dockerfile is the one a real Docker builds on the official image: what this machine needs
# comes in through a build arg and build secrets given here, never through the Dockerfile itself.
#
# Runs as root (rootful podman, debootstrap) and installs what is missing with apt-get.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

NAME=container-test
# shellcheck source=container/lib.sh
. container/lib.sh

APP_IMAGE=localhost/otp-service:container-test
CONTAINER=otp-service-test-$$

# curl to the container only, never through a proxy; bounded in time.
http() { curl -sS --noproxy '*' --max-time 5 "$@"; }

wait_until_serving() {
    local deadline=$((SECONDS + 60)) attempt
    for ((attempt = 0; attempt < 120 && SECONDS < deadline; attempt++)); do
        http -o /dev/null -f "$BASE_URL/health" 2>/dev/null && return 0
        [[ $(pod inspect --format '{{.State.Running}}' "$CONTAINER") == true ]] || return 1
        sleep 0.5
    done
    return 1
}

health_is_ok() {
    local status
    status=$(http -o "$WORK/health.json" -w '%{http_code}' "$BASE_URL/health") || return 1
    [[ $status == 200 ]] && grep -Eq '"status": *"ok"' "$WORK/health.json"
}

ready_with_migrated_sqlite_on_the_volume() {
    local status
    status=$(http -o "$WORK/ready.json" -w '%{http_code}' "$BASE_URL/ready") || return 1
    [[ $status == 200 ]] && grep -Eq '"status": *"ready"' "$WORK/ready.json" &&
        pod exec "$CONTAINER" test -s /data/otp.sqlite3
}

data_is_private_to_the_service() {
    # /data 0700, the database and its -wal and -shm 0600, every one the service user's.
    local modes
    modes=$(pod exec "$CONTAINER" find /data -printf '%m %U %y\n') || return 1
    [[ -n $modes ]] && ! grep -Evx "(700 $APP_UID d|600 $APP_UID f)" <<<"$modes"
}

otp_with_key_is_a_six_digit_code() {
    local status
    # The key goes to curl from a file, so it is never on a command line.
    status=$(http -o "$WORK/otp.json" -w '%{http_code}' -H @"$WORK/key-header" "$BASE_URL/otp") ||
        return 1
    [[ $status == 200 ]] && grep -Eq '"otp": *"[0-9]{6}"' "$WORK/otp.json"
}

otp_without_or_with_a_wrong_key_is_401() {
    local missing wrong
    missing=$(http -o /dev/null -w '%{http_code}' "$BASE_URL/otp") || return 1
    wrong=$(http -o /dev/null -w '%{http_code}' -H 'X-API-Key: not-the-key-0123456789' \
        "$BASE_URL/otp") || return 1
    [[ $missing == 401 && $wrong == 401 ]]
}

runs_as_the_fixed_non_root_uid() {
    local exec_uid process_uid user
    user=$(pod inspect --format '{{.Config.User}}' "$CONTAINER") || return 1
    exec_uid=$(pod exec "$CONTAINER" id -u) || return 1
    # The server process itself (PID 1), not only what `exec` gets: real, effective, saved, fs.
    process_uid=$(pod exec "$CONTAINER" grep '^Uid:' /proc/1/status) || return 1
    [[ ${user%%:*} == "$APP_UID" && $exec_uid == "$APP_UID" ]] &&
        [[ $(echo "$process_uid" | awk '{print $2 $3 $4 $5}') == "$APP_UID$APP_UID$APP_UID$APP_UID" ]]
}

healthcheck_passes() {
    local attempt
    for ((attempt = 0; attempt < 5; attempt++)); do
        timeout 30 "${PODMAN[@]}" healthcheck run "$CONTAINER" >>"$WORK/podman.log" 2>&1 &&
            return 0
        sleep 1
    done
    return 1
}

app_holds_only_the_service_code() {
    # No .env, tests or caches: exactly what the Dockerfile copies.
    [[ $(pod exec "$CONTAINER" ls -A /app | tr '\n' ' ') == "manage.py otp otpsite " ]]
}

bad_configuration_stops_at_start() {
    local status=0
    timeout 60 "${PODMAN[@]}" run --rm --name "$CONTAINER-badconfig" "${RUN_LIMITS[@]}" \
        -e API_KEY=too-short -e OTP_SECRET "$APP_IMAGE" >"$WORK/badconfig.log" 2>&1 || status=$?
    ((status != 0 && status != 124)) && grep -q 'configuration error: API_KEY' "$WORK/badconfig.log"
}

stops_cleanly_on_sigterm() {
    # A shell between podman and gunicorn would swallow SIGTERM and be killed after the timeout.
    pod stop -t 25 "$CONTAINER" >/dev/null 2>>"$WORK/podman.log" || return 1
    [[ $(pod inspect --format '{{.State.ExitCode}}' "$CONTAINER") == 0 ]]
}

cleanup() {
    local name
    for name in "$CONTAINER" "$CONTAINER-badconfig"; do
        # -v: the anonymous volume the image's VOLUME /data gave it goes too.
        pod rm -f -v -t 5 "$name" >/dev/null 2>&1 || true
    done
    if [[ -n ${WORK:-} ]]; then
        rm -rf --one-file-system "$WORK"
    fi
}
trap cleanup EXIT
trap 'echo "container-test: interrupted" >&2; exit 130' INT
trap 'echo "container-test: terminated" >&2; exit 143' TERM

# --- main ---

[[ $(id -u) == 0 ]] || fail "run as root: rootful podman and debootstrap need it"
ensure_packages
WORK=$(mktemp -d /var/tmp/otp-container-test.XXXXXX)

ensure_debian_image
build_python_standin
build_app_image "$APP_IMAGE"
check "image builds from Dockerfile on PYTHON_IMAGE=$PYTHON_IMAGE" true

# Fresh secrets for this run only: exported so podman takes them from the environment (-e NAME),
# not from its command line, and never printed.
API_KEY=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
OTP_SECRET=$(head -c 20 /dev/urandom | base32)
export API_KEY OTP_SECRET
(umask 077 && printf 'X-API-Key: %s\n' "$API_KEY" >"$WORK/key-header")

log "starting $CONTAINER on 127.0.0.1"
# Host port left to podman (127.0.0.1::8000): it picks a free one, so parallel runs never clash.
if ! pod run -d --name "$CONTAINER" "${RUN_LIMITS[@]}" -p 127.0.0.1::8000 \
    -e API_KEY -e OTP_SECRET "$APP_IMAGE" >/dev/null 2>>"$WORK/podman.log"; then
    cat "$WORK/podman.log"
    fail "podman run failed"
fi
HOST_PORT=$(pod port "$CONTAINER" 8000/tcp | head -n 1)
[[ $HOST_PORT == 127.0.0.1:* ]] || fail "port 8000 is published on '$HOST_PORT', not on 127.0.0.1"
BASE_URL="http://$HOST_PORT"

if wait_until_serving; then
    check "serves on $BASE_URL" true
else
    check "serves on $BASE_URL within 60 s" false
    echo "--- container log (last 40 lines) ---"
    pod logs --tail 40 "$CONTAINER" 2>&1 || true
fi
check "GET /health is 200 {\"status\": \"ok\"}" health_is_ok
check "GET /ready is 200: migrated SQLite on the /data volume" ready_with_migrated_sqlite_on_the_volume
check "GET /otp with the key is 200 with a 6-digit code" otp_with_key_is_a_six_digit_code
check "/data is 0700 and every file in it 0600" data_is_private_to_the_service
check "GET /otp without or with a wrong key is 401" otp_without_or_with_a_wrong_key_is_401
check "runs as UID $APP_UID (USER, exec, PID 1), not root" runs_as_the_fixed_non_root_uid
check "HEALTHCHECK passes (podman healthcheck run)" healthcheck_passes
check "/app holds only manage.py, otp, otpsite" app_holds_only_the_service_code
check "a bad API_KEY stops the container at start" bad_configuration_stops_at_start
check "gunicorn stops cleanly on SIGTERM (exit 0)" stops_cleanly_on_sigterm

echo
if ((${#FAILED[@]})); then
    echo "container-test: FAIL: ${#FAILED[@]} of $((PASSED + ${#FAILED[@]})) checks failed (FAIL lines above)"
    # Without systemd, podman cannot schedule HEALTHCHECK runs and says so on every command;
    # that is expected here (the check runs them itself), so only the other messages are shown.
    echo "--- podman messages ---"
    grep -v 'systemd connection' "$WORK/podman.log" | tail -n 20 || true
else
    echo "container-test: PASS in ${SECONDS}s"
fi
echo "container-test: $PASSED passed, ${#FAILED[@]} failed"
((${#FAILED[@]} == 0))
