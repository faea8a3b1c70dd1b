#!/usr/bin/env bash
# `make deploy-test`: bring deploy/compose.yaml up with podman-compose and check that its two
# instances are one service; then the Kubernetes manifests under deploy/kubernetes.
#
# No container registry is reachable from the machines this runs on: the app image is built from
# the Dockerfile on the python stand-in, and compose.yaml's PostgreSQL and Redis images are
# replaced by stand-ins built from Debian's packages (container/lib.sh,
# container/*-standin.Containerfile), through the variables compose.yaml reads. They stay in
# podman's storage, so only the first run pays for them; REBUILD_BASE=1 remakes them.
#
# Everything this run starts (containers, pods, network, volumes, the secret of `podman kube
# play`) is named after its process id and removed at exit, failed or not; only the images stay. The instances are published on
# 127.0.0.1 only (OTP1_PORT, OTP2_PORT: 18401, 18402 unless set). Every wait is bounded.
#
# Runs as root (rootful podman, debootstrap) and installs what is missing with apt-get; the
# podman-compose and kubernetes-validate it runs are the venv's (requirements-dev.txt), which
# the Makefile target installs first.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

NAME=deploy-test
# shellcheck source=container/lib.sh
. container/lib.sh

APP_IMAGE=localhost/otp-service:deploy-test
POSTGRES_IMAGE=localhost/otp-service-base/postgres:15-$SUITE
REDIS_IMAGE=localhost/otp-service-base/redis:7-$SUITE
PROJECT=otp-deploy-test-$$
KUBE_NAME=otp-kube-test-$$
OTP1_PORT=${OTP1_PORT:-18401}
OTP2_PORT=${OTP2_PORT:-18402}
VENV_BIN=$ROOT/.venv/bin
ACCOUNT=shared-bot
CLIENT=deploy-test-bot

# curl to the instances only, never through a proxy; bounded in time.
http() { curl -sS --noproxy '*' --max-time 5 "$@"; }

# --read-only-tmpfs=false: podman gives a read-only container a writable /tmp of its own unless
# told not to; Docker does not, so /tmp must come from compose.yaml's tmpfs, as it would there.
compose() {
    timeout 300 "$VENV_BIN/podman-compose" -p "$PROJECT" -f deploy/compose.yaml \
        --env-file "$WORK/otp.env" --podman-run-args=--read-only-tmpfs=false "$@"
}

# The container of a compose service, by the labels podman-compose gives it.
container_of() {
    pod ps -a -q --filter "label=io.podman.compose.project=$PROJECT" \
        --filter "label=com.docker.compose.service=$1" | head -n 1
}

port_in_use() { timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# `until_true SECONDS COMMAND...`: COMMAND every half second until it succeeds or time is up.
until_true() {
    local deadline=$((SECONDS + $1))
    shift
    while ((SECONDS < deadline)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    return 1
}

healthcheck_passes() { timeout 30 "${PODMAN[@]}" healthcheck run "$1"; }

ready_on() {
    [[ $(http -o "$WORK/ready.json" -w '%{http_code}' "http://127.0.0.1:$1/ready") == 200 ]] &&
        grep -Eq '"status": *"ready"' "$WORK/ready.json"
}

# `manage CONTAINER ARGS...`: the operator command line inside an instance, standard input passed on.
manage() { timeout 60 "${PODMAN[@]}" exec -i "$1" python manage.py otp "${@:2}"; }

# `totp SECRET TIMESTAMP`: the 6-digit SHA1 code of a 30 s step, computed here (RFC 6238).
totp() {
    "$VENV_BIN/python" -c '
import base64, hashlib, hmac, struct, sys
key = base64.b32decode(sys.argv[1])
mac = hmac.new(key, struct.pack(">Q", int(sys.argv[2]) // 30), hashlib.sha1).digest()
offset = mac[-1] & 15
print("%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 10**6))
' "$1" "$2"
}

json_field() { "$VENV_BIN/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# --- compose checks ---

both_instances_ready() { ready_on "$OTP1_PORT" && ready_on "$OTP2_PORT"; }

published_on_loopback_only() {
    local name ports
    for name in "$OTP1" "$OTP2"; do
        ports=$(pod port "$name") || return 1
        [[ -n $ports ]] && ! grep -qv -- '-> 127\.0\.0\.1:[0-9]*$' <<<"$ports" || return 1
    done
    [[ $(pod port "$OTP1" 8000/tcp) == "127.0.0.1:$OTP1_PORT" &&
        $(pod port "$OTP2" 8000/tcp) == "127.0.0.1:$OTP2_PORT" ]] || return 1
    # PostgreSQL and Redis are not published at all.
    [[ -z $(pod port "$POSTGRES") && -z $(pod port "$REDIS") ]]
}

every_healthcheck_passes() {
    local name
    for name in "$OTP1" "$OTP2" "$POSTGRES" "$REDIS"; do
        healthcheck_passes "$name" >>"$WORK/podman.log" 2>&1 || return 1
    done
}

# A read-only root, the image's user, no capability left, nothing writable but /tmp.
locked_down() {
    local name=$1 status
    [[ $(pod inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$name") == true ]] || return 1
    status=$(pod exec "$name" grep -E '^(Uid|CapEff|NoNewPrivs):' /proc/1/status) || return 1
    grep -Eq '^Uid:\s+10001\s+10001\s+10001\s+10001$' <<<"$status" || return 1
    grep -Eq '^CapEff:\s+0+$' <<<"$status" || return 1
    grep -Eq '^NoNewPrivs:\s+1$' <<<"$status" || return 1
    pod exec "$name" sh -c 'touch /app/x' 2>/dev/null && return 1
    pod exec "$name" sh -c 'touch /tmp/x && rm /tmp/x' || return 1
}

instances_are_locked_down() {
    local name
    for name in "$OTP1" "$OTP2"; do
        locked_down "$name" || return 1
    done
}

account_and_client_made_in_one_are_seen_by_the_other() {
    # The secret goes in on standard input, the key comes back into a private file: neither is
    # ever on a command line.
    manage "$OTP1" account add "$ACCOUNT" <"$WORK/account-secret" >>"$WORK/manage.log" 2>&1 ||
        return 1
    (umask 077 && manage "$OTP1" client create "$CLIENT" --account "$ACCOUNT" --issue --verify \
        --quiet </dev/null >"$WORK/client-key" 2>>"$WORK/manage.log") || return 1
    [[ -s $WORK/client-key ]] || return 1
    (umask 077 && printf 'X-API-Key: %s\n' "$(tr -d '\n' <"$WORK/client-key")" >"$WORK/client-header")
    [[ $(http -o "$WORK/accounts.json" -w '%{http_code}' -H @"$WORK/client-header" \
        "http://127.0.0.1:$OTP2_PORT/accounts") == 200 ]] &&
        grep -q "\"name\": *\"$ACCOUNT\"" "$WORK/accounts.json"
}

# `code_from PORT`: the account's code from that instance is the one its secret gives.
code_from() {
    local status otp timestamp
    status=$(http -o "$WORK/code.json" -w '%{http_code}' -H @"$WORK/client-header" \
        "http://127.0.0.1:$1/accounts/$ACCOUNT/otp") || return 1
    [[ $status == 200 ]] || return 1
    otp=$(json_field "$WORK/code.json" otp) && timestamp=$(json_field "$WORK/code.json" timestamp) ||
        return 1
    [[ $otp =~ ^[0-9]{6}$ && $otp == "$(totp "$(cat "$WORK/account-secret")" "$timestamp")" ]]
}

both_serve_the_accounts_code() { code_from "$OTP1_PORT" && code_from "$OTP2_PORT"; }

verify_on() {
    http -o "$WORK/verify.json" -w '%{http_code}' -H @"$WORK/client-header" \
        -H 'Content-Type: application/json' --data "{\"otp\": \"$2\"}" \
        "http://127.0.0.1:$1/accounts/$ACCOUNT/otp/verify"
}

code_used_through_one_is_refused_by_the_other() {
    local code
    # Not in the last 3 s of a step, so both requests check the same step's code.
    while (($(date +%s) % 30 >= 27)); do sleep 0.5; done
    code=$(totp "$(cat "$WORK/account-secret")" "$(date +%s)")
    [[ $(verify_on "$OTP1_PORT" "$code") == 200 ]] &&
        grep -Eq '"valid": *true' "$WORK/verify.json" || return 1
    [[ $(verify_on "$OTP2_PORT" "$code") == 200 ]] && grep -Eq '"valid": *false' "$WORK/verify.json"
}

client_revoked_through_one_is_refused_by_the_other() {
    manage "$OTP1" client revoke "$CLIENT" </dev/null >>"$WORK/manage.log" 2>&1 || return 1
    [[ $(http -o /dev/null -w '%{http_code}' -H @"$WORK/client-header" \
        "http://127.0.0.1:$OTP2_PORT/accounts/$ACCOUNT/otp") == 401 ]] &&
        [[ $(http -o /dev/null -w '%{http_code}' -H @"$WORK/client-header" \
            "http://127.0.0.1:$OTP1_PORT/accounts/$ACCOUNT/otp") == 401 ]]
}

one_instance_down_the_other_serves() {
    timeout 30 "${PODMAN[@]}" stop -t 10 "$OTP1" >>"$WORK/podman.log" 2>&1 || return 1
    ! ready_on "$OTP1_PORT" 2>/dev/null && ready_on "$OTP2_PORT" &&
        [[ $(http -o /dev/null -w '%{http_code}' -H @"$WORK/key-header" \
            "http://127.0.0.1:$OTP2_PORT/otp") == 200 ]]
}

# The anonymous volumes of this run's containers (the image's VOLUME /data), which
# `podman-compose down -v` leaves behind, unlike `docker compose down -v`.
ANONYMOUS_VOLUMES=()
note_anonymous_volumes() {
    local name volume
    for name in "$@"; do
        for volume in $(pod inspect --format \
            '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}' "$name" 2>/dev/null); do
            if [[ $(pod volume inspect --format '{{.Anonymous}}' "$volume" 2>/dev/null) == true ]]; then
                ANONYMOUS_VOLUMES+=("$volume")
            fi
        done
    done
}
remove_anonymous_volumes() {
    ((${#ANONYMOUS_VOLUMES[@]})) || return 0
    timeout 60 "${PODMAN[@]}" volume rm -f "${ANONYMOUS_VOLUMES[@]}" >/dev/null 2>&1 || true
    ANONYMOUS_VOLUMES=()
}

down_leaves_nothing() {
    local volumes=("${ANONYMOUS_VOLUMES[@]}") volume
    compose down -v -t 10 >>"$WORK/compose.log" 2>&1 || return 1
    remove_anonymous_volumes
    for volume in "${volumes[@]}"; do
        ! pod volume exists "$volume" || return 1
    done
    [[ -z $(pod ps -a -q --filter "label=io.podman.compose.project=$PROJECT") ]] &&
        [[ -z $(pod volume ls -q --filter "label=io.podman.compose.project=$PROJECT") ]] &&
        ! pod network exists "${PROJECT}_default"
}

# --- Kubernetes checks ---

manifests_match_the_schemas() {
    "$VENV_BIN/kubernetes-validate" --strict deploy/kubernetes/*.yaml >"$WORK/validate.log" 2>&1
}

validator_refuses_a_misspelt_field() {
    mkdir -p "$WORK/misspelt"
    sed 's/readOnlyRootFilesystem:/readOnlyRootFileSystem:/' deploy/kubernetes/deployment.yaml \
        >"$WORK/misspelt/deployment.yaml"
    ! "$VENV_BIN/kubernetes-validate" --strict "$WORK/misspelt/deployment.yaml" \
        >>"$WORK/validate.log" 2>&1
}

deployment_is_locked_down() {
    "$VENV_BIN/python" - deploy/kubernetes/deployment.yaml deploy/kubernetes/service.yaml \
        deploy/kubernetes/secret.example.yaml <<'EOF'
import sys
import yaml

deployment, service, secret = (yaml.safe_load(open(path)) for path in sys.argv[1:])
spec = deployment["spec"]
pod = spec["template"]["spec"]
(container,) = pod["containers"]
context = container["securityContext"]
mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
volumes = {v["name"]: v for v in pod["volumes"]}
problems = [
    what
    for what, ok in [
        ("2 replicas", spec["replicas"] == 2),
        ("liveness /health", container["livenessProbe"]["httpGet"]["path"] == "/health"),
        ("readiness /ready", container["readinessProbe"]["httpGet"]["path"] == "/ready"),
        ("runAsNonRoot", pod["securityContext"]["runAsNonRoot"] and context["runAsNonRoot"]),
        ("the image's uid", pod["securityContext"]["runAsUser"] == context["runAsUser"] == 10001),
        ("read-only root", context["readOnlyRootFilesystem"] is True),
        ("no privilege escalation", context["allowPrivilegeEscalation"] is False),
        ("drop ALL", context["capabilities"]["drop"] == ["ALL"]),
        ("/tmp an emptyDir", "emptyDir" in volumes[mounts["/tmp"]]),
        ("env from the Secret", container["envFrom"][0]["secretRef"]["name"] == secret["metadata"]["name"]),
        ("Service selects the pods", service["spec"]["selector"].items() <= spec["template"]["metadata"]["labels"].items()),
    ]
    if not ok
]
if problems:
    sys.exit("not in deployment.yaml: " + ", ".join(problems))
EOF
}

# The manifests as this machine can play them: the Secret's values are this run's, pointing at the
# compose deployment's PostgreSQL and Redis, the image is the one built here, names carry this
# run's id, and no port is published on the host.
render_manifests() {
    local database cache
    mkdir -p "$WORK/kube"
    database="postgres://otp:$POSTGRES_PASSWORD@postgres:5432/otp"
    cache="redis://:$REDIS_PASSWORD@redis:6379/0"
    DATABASE="$database" CACHE="$cache" KUBE_NAME="$KUBE_NAME" APP_IMAGE="$APP_IMAGE" \
        "$VENV_BIN/python" - deploy/kubernetes "$WORK/kube" <<'EOF'
import os
import sys
from pathlib import Path

import yaml

source, target = map(Path, sys.argv[1:])
name = os.environ["KUBE_NAME"]
secret = yaml.safe_load((source / "secret.example.yaml").read_text())
secret["metadata"]["name"] = name
secret["stringData"] = {
    "API_KEY": os.environ["API_KEY"],
    "OTP_SECRET": os.environ["OTP_SECRET"],
    "OTP_ENCRYPTION_KEYS": os.environ["OTP_ENCRYPTION_KEYS"],
    "DATABASE_URL": os.environ["DATABASE"],
    "CACHE_URL": os.environ["CACHE"],
}
deployment = yaml.safe_load((source / "deployment.yaml").read_text())
deployment["metadata"]["name"] = name
pod = deployment["spec"]["template"]["spec"]
pod["containers"][0]["image"] = os.environ["APP_IMAGE"]
pod["containers"][0]["imagePullPolicy"] = "Never"
pod["containers"][0]["envFrom"][0]["secretRef"]["name"] = name
# podman publishes a containerPort on every host address; inside the pod the port answers all
# the same. The probes then name it by number.
container = pod["containers"][0]
ports = {port["name"]: port["containerPort"] for port in container.pop("ports")}
for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
    get = container[probe]["httpGet"]
    get["port"] = ports.get(get["port"], get["port"])
old = os.umask(0o077)
(target / "secret.yaml").write_text(yaml.safe_dump(secret))
os.umask(old)
(target / "deployment.yaml").write_text(yaml.safe_dump(deployment))
EOF
}

KUBE_PLAYED=()
# podman kube play makes this network the first time it runs, even when told to use another.
KUBE_NETWORK=podman-default-kube-network
KUBE_NETWORK_MADE=0
KUBE_SECRET_AS_JSON=0
kube_play() {
    pod network exists "$KUBE_NETWORK" || KUBE_NETWORK_MADE=1
    # The Secret becomes a podman secret, which the Deployment's `secretRef` then reads; its pods
    # join the compose network, where the names postgres and redis answer.
    KUBE_PLAYED+=("$WORK/kube/secret.yaml")
    pod kube play "$WORK/kube/secret.yaml" >"$WORK/kube.log" 2>&1 || return 1
    KUBE_PLAYED+=("$WORK/kube/deployment.yaml")
    play_deployment && return 0
    # podman 4.3 keeps a played Secret as YAML but reads it back for `secretRef` as JSON, and
    # fails (containers/podman#16269, fixed in 4.4): the same values are then given as the podman
    # secret that 4.3 reads, a JSON object of base64 values.
    grep -q 'is not valid JSON' "$WORK/kube.log" || return 1
    kube_down
    KUBE_PLAYED+=("$WORK/kube/deployment.yaml")
    pod secret rm "$KUBE_NAME" >>"$WORK/kube.log" 2>&1 || true
    "$VENV_BIN/python" -c '
import base64, json, sys, yaml
data = yaml.safe_load(open(sys.argv[1]))["stringData"]
print(json.dumps({k: base64.b64encode(v.encode()).decode() for k, v in data.items()}))
' "$WORK/kube/secret.yaml" | pod secret create "$KUBE_NAME" - >>"$WORK/kube.log" 2>&1 || return 1
    KUBE_SECRET_AS_JSON=1
    play_deployment
}

play_deployment() {
    pod kube play --network "${PROJECT}_default" "$WORK/kube/deployment.yaml" \
        >>"$WORK/kube.log" 2>&1
}

# The app containers of the pods played from the Deployment (not their infra containers).
kube_containers() {
    local pods name
    pods=$(pod pod ps -q --filter "name=^${KUBE_NAME}-pod") || return 1
    [[ -n $pods ]] || return 1
    for name in $pods; do
        pod ps --filter "pod=$name" --format '{{.Names}} {{.IsInfra}}' | awk '$2 == "false" {print $1}'
    done
}

kube_pods_ready() {
    local containers name
    containers=$(kube_containers) || return 1
    # One pod per replica of deployment.yaml.
    [[ $(wc -l <<<"$containers") == 2 ]] || return 1
    for name in $containers; do
        pod exec "$name" /opt/venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=4)" ||
            return 1
    done
}

# What the securityContext asks for, as podman applied it.
kube_pods_locked_down() {
    local containers name
    containers=$(kube_containers) || return 1
    for name in $containers; do
        locked_down "$name" || return 1
        # /tmp is the manifest's emptyDir, not the tmpfs podman adds to any read-only container.
        pod inspect --format '{{range .Mounts}}{{.Destination}} {{end}}' "$name" | grep -qw /tmp || return 1
    done
}

kube_down() {
    local file
    for file in "${KUBE_PLAYED[@]}"; do
        timeout 60 "${PODMAN[@]}" kube down "$file" >>"$WORK/kube.log" 2>&1 || true
    done
    KUBE_PLAYED=()
    # kube down stops at the first replica it cannot find: whatever pod is left, by name.
    pod pod ps -q --filter "name=^${KUBE_NAME}-pod" |
        xargs -r timeout 60 "${PODMAN[@]}" pod rm -f -t 5 >>"$WORK/kube.log" 2>&1 || true
}

# --- main ---

COMPOSE_UP=0
cleanup() {
    local status=$?
    if [[ -n ${WORK:-} ]]; then
        ((${#KUBE_PLAYED[@]})) && kube_down
        if ((COMPOSE_UP)); then
            compose down -v -t 5 >>"$WORK/compose.log" 2>&1 || true
        fi
        # Whatever podman-compose left, by this run's labels and names only; twice, for a
        # container caught restarting the first time.
        for _ in 1 2; do
            pod ps -a -q --filter "label=io.podman.compose.project=$PROJECT" |
                xargs -r timeout 60 "${PODMAN[@]}" rm -f -t 5 >/dev/null 2>&1 || true
        done
        pod pod rm -f "pod_$PROJECT" >/dev/null 2>&1 || true
        pod volume ls -q --filter "label=io.podman.compose.project=$PROJECT" |
            xargs -r timeout 60 "${PODMAN[@]}" volume rm -f >/dev/null 2>&1 || true
        remove_anonymous_volumes
        pod network rm -f "${PROJECT}_default" >/dev/null 2>&1 || true
        pod secret rm "$KUBE_NAME" >/dev/null 2>&1 || true
        if ((KUBE_NETWORK_MADE)); then
            pod network rm "$KUBE_NETWORK" >/dev/null 2>&1 || true
        fi
        rm -rf --one-file-system "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'echo "deploy-test: interrupted" >&2; exit 130' INT
trap 'echo "deploy-test: terminated" >&2; exit 143' TERM

[[ $(id -u) == 0 ]] || fail "run as root: rootful podman and debootstrap need it"
[[ -x $VENV_BIN/podman-compose && -x $VENV_BIN/kubernetes-validate ]] ||
    fail "no podman-compose or kubernetes-validate in .venv: run it as make deploy-test"
for port in "$OTP1_PORT" "$OTP2_PORT"; do
    port_in_use "$port" && fail "127.0.0.1:$port is taken: set OTP1_PORT and OTP2_PORT to free ports"
done
# aardvark-dns: the compose services find each other by name; catatonit: the pause process of
# the pods podman kube play makes.
ensure_packages aardvark-dns catatonit
WORK=$(mktemp -d /var/tmp/otp-deploy-test.XXXXXX)

# podman-compose runs plain `podman`: what PODMAN and RUN_LIMITS give container/test.sh's podman
# comes from a containers.conf of this run's instead.
cat >"$WORK/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$NOFILE:$NOFILE", "nproc=$NPROC:$NPROC"]

[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF=$WORK/containers.conf

ensure_debian_image
build_python_standin
build_standin postgres-standin.Containerfile "$POSTGRES_IMAGE" postgres-standin-entrypoint.sh
build_standin redis-standin.Containerfile "$REDIS_IMAGE"
build_app_image "$APP_IMAGE"
check "app image and PostgreSQL and Redis stand-ins built" true

# Fresh secrets for this run only, in a private env file as deploy/otp.env would hold them;
# exported for the rendered Kubernetes Secret, never printed.
API_KEY=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
OTP_SECRET=$(head -c 20 /dev/urandom | base32)
OTP_ENCRYPTION_KEYS=$(head -c 32 /dev/urandom | base64)
POSTGRES_PASSWORD=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
REDIS_PASSWORD=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export API_KEY OTP_SECRET OTP_ENCRYPTION_KEYS
(
    umask 077
    printf 'API_KEY=%s\nOTP_SECRET=%s\nOTP_ENCRYPTION_KEYS=%s\nPOSTGRES_PASSWORD=%s\nREDIS_PASSWORD=%s\n' \
        "$API_KEY" "$OTP_SECRET" "$OTP_ENCRYPTION_KEYS" "$POSTGRES_PASSWORD" "$REDIS_PASSWORD" \
        >"$WORK/otp.env"
    printf 'X-API-Key: %s\n' "$API_KEY" >"$WORK/key-header"
    head -c 20 /dev/urandom | base32 >"$WORK/account-secret"
)
export OTP_ENV_FILE=$WORK/otp.env OTP_IMAGE=$APP_IMAGE OTP_POSTGRES_IMAGE=$POSTGRES_IMAGE \
    OTP_REDIS_IMAGE=$REDIS_IMAGE OTP1_PORT OTP2_PORT

check "podman-compose reads compose.yaml" compose config -q

# PostgreSQL and Redis first, healthy, then the instances: podman before 4.6 cannot wait for a
# healthy dependency (podman-compose says so and starts the instances at once).
log "compose up ($PROJECT): postgres, redis"
COMPOSE_UP=1
if ! compose up -d --no-build postgres redis >>"$WORK/compose.log" 2>&1; then
    tail -n 30 "$WORK/compose.log"
    fail "podman-compose up (postgres, redis) failed"
fi
POSTGRES=$(container_of postgres)
REDIS=$(container_of redis)
until_true 90 healthcheck_passes "$POSTGRES" || fail "postgres is not healthy within 90 s"
until_true 60 healthcheck_passes "$REDIS" || fail "redis is not healthy within 60 s"
log "compose up ($PROJECT): otp1, otp2"
if ! compose up -d --no-build >>"$WORK/compose.log" 2>&1; then
    tail -n 30 "$WORK/compose.log"
    fail "podman-compose up failed"
fi
OTP1=$(container_of otp1)
OTP2=$(container_of otp2)
note_anonymous_volumes "$OTP1" "$OTP2" "$POSTGRES" "$REDIS"

if until_true 90 both_instances_ready; then
    check "otp1 and otp2 ready on 127.0.0.1:$OTP1_PORT and :$OTP2_PORT" true
else
    check "otp1 and otp2 ready on 127.0.0.1:$OTP1_PORT and :$OTP2_PORT within 90 s" false
    for name in "$OTP1" "$OTP2"; do
        echo "--- $name log (last 20 lines) ---"
        pod logs --tail 20 "$name" 2>&1 || true
    done
fi
check "instances published on 127.0.0.1 only; PostgreSQL and Redis not at all" published_on_loopback_only
check "every service's healthcheck passes (podman healthcheck run)" every_healthcheck_passes
check "instances: read-only root but /tmp, UID 10001, no capabilities, no-new-privileges" \
    instances_are_locked_down
check "account and client made through otp1 are served by otp2" \
    account_and_client_made_in_one_are_seen_by_the_other
check "a code accepted through otp1 is refused (replayed) by otp2" \
    code_used_through_one_is_refused_by_the_other
check "both instances hand out the account's code (checked against its secret)" \
    both_serve_the_accounts_code
check "a client revoked through otp1 is refused (401) by otp2 and otp1" \
    client_revoked_through_one_is_refused_by_the_other

check "kubernetes-validate --strict: deploy/kubernetes/*.yaml match the Kubernetes schemas" \
    manifests_match_the_schemas
check "kubernetes-validate --strict refuses a misspelt field" validator_refuses_a_misspelt_field
check "deployment.yaml: 2 replicas, probes, non-root 10001, read-only root, /tmp emptyDir" \
    deployment_is_locked_down

render_manifests
if kube_play; then
    if until_true 90 kube_pods_ready; then
        if ((KUBE_SECRET_AS_JSON)); then log "podman kube play: the Secret given as podman 4.3 reads it"; fi
        check "podman kube play: the Deployment's 2 pods answer /ready on the compose network" true
        check "podman kube play: read-only root but /tmp, UID 10001, no capabilities" \
            kube_pods_locked_down
    else
        check "podman kube play: the Deployment's pod answers /ready within 90 s" false
        tail -n 20 "$WORK/kube.log"
    fi
    kube_down
else
    printf 'SKIP  podman kube play (%s) cannot play the manifests; validated only:\n' \
        "$(podman --version)"
    grep -v '^\s*$' "$WORK/kube.log" | tail -n 5 | sed 's/^/      /'
    kube_down
fi

check "with otp1 stopped, otp2 still serves" one_instance_down_the_other_serves
check "compose down -v leaves no container, volume or network" down_leaves_nothing
COMPOSE_UP=0

echo
if ((${#FAILED[@]})); then
    echo "deploy-test: FAIL: ${#FAILED[@]} of $((PASSED + ${#FAILED[@]})) checks failed (FAIL lines above)"
    echo "--- podman-compose (last 20 lines) ---"
    tail -n 20 "$WORK/compose.log" || true
    echo "--- operator commands ---"
    tail -n 10 "$WORK/manage.log" 2>/dev/null || true
    echo "--- podman messages ---"
    grep -v 'systemd connection' "$WORK/podman.log" 2>/dev/null | tail -n 20 || true
else
    echo "deploy-test: PASS in ${SECONDS}s"
fi
echo "deploy-test: $PASSED passed, ${#FAILED[@]} failed"
((${#FAILED[@]} == 0))
