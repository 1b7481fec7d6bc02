#!/usr/bin/env bash
# Make sure a PostGIS server is there for gcrm. Idempotent: a second run reuses what is there.
#   - GCRM_DATABASE_URL set: that server is used as it is; nothing is installed or started.
#   - otherwise: install PostgreSQL 15 + PostGIS 3 + pgRouting + contrib with apt if missing,
#     start the Debian cluster 15/main if it is down, and create the `gcrm` role and database
#     with the postgis, pg_trgm and fuzzystrmatch extensions.
set -euo pipefail

if [[ -n "${GCRM_DATABASE_URL:-}" ]]; then
  echo "gcrm: using the PostGIS at GCRM_DATABASE_URL; installing nothing"
  exit 0
fi

SUDO=""
if [[ "$(id -u)" != "0" ]]; then SUDO="sudo"; fi
PGVER=15
EXT=/usr/share/postgresql/$PGVER/extension

missing=()
[[ -x /usr/lib/postgresql/$PGVER/bin/postgres ]] || missing+=("postgresql-$PGVER")
[[ -f $EXT/postgis.control ]] || missing+=("postgresql-$PGVER-postgis-3")
[[ -f $EXT/pgrouting.control ]] || missing+=("postgresql-$PGVER-pgrouting")
[[ -f $EXT/pg_trgm.control ]] || missing+=("postgresql-contrib")
if (( ${#missing[@]} )); then
  echo "gcrm: installing ${missing[*]} with apt"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2}' | grep -qx "$PGVER/main"; then
  $SUDO pg_createcluster "$PGVER" main >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$PGVER" '$1==v && $2=="main" {print $4}' | grep -q online; then
  echo "gcrm: starting PostgreSQL cluster $PGVER/main"
  $SUDO pg_ctlcluster "$PGVER" main start
fi

psql_admin() { $SUDO -u postgres psql -v ON_ERROR_STOP=1 -qtA "$@"; }
if [[ -z "$SUDO" ]]; then psql_admin() { su postgres -c "psql -v ON_ERROR_STOP=1 -qtA $(printf '%q ' "$@")"; }; fi

for _ in $(seq 1 30); do psql_admin -c "select 1" >/dev/null 2>&1 && break; sleep 1; done

# A superuser role on the local development cluster: the test suite creates and drops a
# throw-away database (with extensions) per session.
if [[ "$(psql_admin -c "select 1 from pg_roles where rolname = 'gcrm'")" != "1" ]]; then
  psql_admin -c "CREATE ROLE gcrm LOGIN SUPERUSER PASSWORD 'gcrm'"
fi
if [[ "$(psql_admin -c "select 1 from pg_database where datname = 'gcrm'")" != "1" ]]; then
  psql_admin -c "CREATE DATABASE gcrm OWNER gcrm"
fi
psql_admin -d gcrm -c "CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;"
echo "gcrm: PostGIS ready at postgresql://gcrm@localhost:5432/gcrm"
