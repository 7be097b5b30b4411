#!/bin/bash
# The official postgres image's entrypoint contract, as far as Rotor's manifests use it:
#   - POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER
#     (default postgres), POSTGRES_DB (default POSTGRES_USER), POSTGRES_INITDB_ARGS,
#     POSTGRES_HOST_AUTH_METHOD; each also as NAME_FILE (read from that file);
#   - on an empty PGDATA: initdb, a pg_hba line `host all all all <method>`, then a
#     socket-only temporary server creates POSTGRES_DB and runs /docker-entrypoint-initdb.d
#     (*.sh run or sourced, *.sql and *.sql.gz through psql), and stops;
#   - a leading option means postgres; run as root, it prepares the directories and
#     re-runs itself as postgres.
set -Eeuo pipefail

# file_env NAME [DEFAULT]: NAME from $NAME or from the file $NAME_FILE (not both).
file_env() {
  local var=$1 file_var=${1}_FILE def=${2:-}
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    echo "error: both $var and $file_var are set (but are exclusive)" >&2
    exit 1
  fi
  local val=$def
  if [ -n "${!var:-}" ]; then val=${!var}; elif [ -n "${!file_var:-}" ]; then val=$(< "${!file_var}"); fi
  export "$var"="$val"
  unset "$file_var"
}

psql_init() { psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"; }

init_files() {
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    case $f in
      *.sh)
        if [ -x "$f" ]; then echo "$0: running $f"; "$f"; else echo "$0: sourcing $f"; . "$f"; fi ;;
      *.sql) echo "$0: running $f"; psql_init --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) echo "$0: running $f"; gunzip -c "$f" | psql_init --dbname "$POSTGRES_DB" ;;
      *'/*') ;;
      *) echo "$0: ignoring $f" ;;
    esac
  done
}

initialize() {
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
    cat >&2 <<'MSG'
Error: the database is uninitialized and POSTGRES_PASSWORD is not set.
Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty value for the superuser,
or POSTGRES_HOST_AUTH_METHOD=trust to allow connections without a password (never do this
outside a throwaway setup).
MSG
    exit 1
  fi
  ls /docker-entrypoint-initdb.d/ > /dev/null
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") ${POSTGRES_INITDB_ARGS:-}
  local method=${POSTGRES_HOST_AUTH_METHOD:-}
  if [ -z "$method" ]; then
    if [ "$(postgres -C password_encryption)" = scram-sha-256 ]; then method=scram-sha-256; else method=md5; fi
  fi
  printf '\nhost all all all %s\n' "$method" >> "$PGDATA/pg_hba.conf"

  export PGPASSWORD=${PGPASSWORD:-$POSTGRES_PASSWORD}
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
  if [ "$POSTGRES_DB" != postgres ]; then
    local exists
    exists=$(psql_init --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<'SQL'
SELECT 1 FROM pg_database WHERE datname = :'db' ;
SQL
)
    if [ -z "${exists// /}" ]; then
      psql_init --dbname postgres --set db="$POSTGRES_DB" <<'SQL'
CREATE DATABASE :"db" ;
SQL
    fi
  fi
  init_files
  pg_ctl -D "$PGDATA" -m fast -w stop
  unset PGPASSWORD
  echo "PostgreSQL init process complete; ready for start up."
}

case "${1:-}" in -*) set -- postgres "$@" ;; esac

if [ "${1:-}" = postgres ]; then
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  mkdir -p "$PGDATA"
  chmod 00700 "$PGDATA" || :
  mkdir -p /var/run/postgresql || :
  chmod 03775 /var/run/postgresql || :
  if [ "$(id -u)" = 0 ]; then
    find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
    find /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
  fi
  if [ -s "$PGDATA/PG_VERSION" ]; then
    echo "PostgreSQL Database directory appears to contain a database; Skipping initialization"
  else
    initialize
  fi
fi

exec "$@"
