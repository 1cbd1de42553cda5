#!/usr/bin/env bash
# `make bench`: seed PostgreSQL once, serve the portal with gunicorn and production settings, then run
# each benchmark script named in BENCHES (default: web) against it. Loopback only; bounded requests.
#
#   BENCH_DB (iom_bench)  BENCH_PORT (8110)  BENCH_PROGRAMMES (10000)  BENCH_RESEED=1 to reseed
#   BENCHES="web api"  runs bench/web.py then bench/api.py, each with BENCH_URL and the login set.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
BENCH_DB=${BENCH_DB:-iom_bench}
BENCH_PORT=${BENCH_PORT:-8110}
BENCH_PROGRAMMES=${BENCH_PROGRAMMES:-10000}
BENCHES=${BENCHES:-web}
PGHOST=${PGHOST:-127.0.0.1}
PGUSER=${PGUSER:-postgres}

static_root=$(mktemp -d /tmp/iom-bench-static.XXXXXX)
chmod 755 "$static_root"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$static_root"
}
trap cleanup EXIT INT TERM

export DATABASE_URL="postgres://${PGUSER}@${PGHOST}:5432/${BENCH_DB}"
export DEBUG=0 SECURE_SSL_REDIRECT=0 SECURE_HSTS_SECONDS=0 BENCH_FLOOR=1
export SECRET_KEY="bench-only-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export ALLOWED_HOSTS="127.0.0.1,localhost"
export STATIC_ROOT="$static_root" LOG_LEVEL=WARNING
unset CELERY_BROKER_URL

echo "== database $BENCH_DB"
if ! psql -h "$PGHOST" -U "$PGUSER" -tAc "SELECT 1 FROM pg_database WHERE datname='$BENCH_DB'" | grep -q 1; then
  createdb -h "$PGHOST" -U "$PGUSER" "$BENCH_DB"
fi
$PY manage.py migrate --noinput -v0
$PY manage.py load_reference_data >/dev/null
have=$($PY manage.py shell -v 0 -c "from programmes.models import Programme; print(Programme.objects.filter(code__startswith='NE-').count())")
if [ "${BENCH_RESEED:-0}" = 1 ] || [ "$have" != "$BENCH_PROGRAMMES" ]; then
  echo "== seeding $BENCH_PROGRAMMES programmes (had $have)"
  $PY manage.py seed_demo --programmes "$BENCH_PROGRAMMES" --force
  psql -h "$PGHOST" -U "$PGUSER" -d "$BENCH_DB" -qc "VACUUM ANALYZE" >/dev/null
else
  echo "== $have demo programmes already seeded"
fi

echo "== collectstatic (hashed, compressed) into $static_root"
$PY manage.py collectstatic --noinput -v0

echo "== gunicorn on 127.0.0.1:$BENCH_PORT"
.venv/bin/gunicorn iom_portal.wsgi:application --bind "127.0.0.1:$BENCH_PORT" --workers 2 \
  --access-logfile /dev/null --error-logfile "$static_root/gunicorn.log" &
server_pid=$!
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$BENCH_PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$BENCH_PORT/healthz" >/dev/null || { cat "$static_root/gunicorn.log"; exit 1; }

export BENCH_URL="http://127.0.0.1:$BENCH_PORT" BENCH_USER=${BENCH_USER:-staff} BENCH_PASSWORD=${BENCH_PASSWORD:-demo-pass-2026}
status=0
for bench in $BENCHES; do
  echo "== bench/$bench.py"
  $PY "bench/$bench.py" || status=1
done
exit $status
