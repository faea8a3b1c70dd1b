#!/bin/sh
# Entrypoint of the PostgreSQL stand-in (postgres-standin.Containerfile): what the official
# image's does for deploy/compose.yaml, no more. Started as root, it hands the data folder to
# postgres and runs again as that user; on an empty PGDATA it makes the cluster with
# POSTGRES_USER as superuser (password POSTGRES_PASSWORD, required) and the database POSTGRES_DB.
set -eu

if [ "${1:-}" != postgres ]; then
    exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
    install -d -m 0700 -o postgres -g postgres "$PGDATA"
    install -d -m 2775 -o postgres -g postgres /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
    user=${POSTGRES_USER:-postgres}
    database=${POSTGRES_DB:-$user}
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 >/dev/null
    rm -f "$pwfile"
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    if [ "$database" != postgres ]; then
        # Sockets only while the database is made, as the official image does.
        pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w -t 60 start >/dev/null
        psql -v ON_ERROR_STOP=1 -q --username="$user" --dbname=postgres \
            -c "CREATE DATABASE \"$database\""
        pg_ctl -D "$PGDATA" -m fast -w -t 60 stop >/dev/null
    fi
    echo "postgres stand-in: cluster made in $PGDATA"
fi

exec "$@"
