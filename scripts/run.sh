#!/usr/bin/env bash
# Serve the portal for `make run`. With CELERY_BROKER_URL set, also start a Celery worker and beat;
# Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# E-mails are printed here unless EMAIL_URL names a real server; links in them point at this port.
export EMAIL_URL="${EMAIL_URL:-consolemail://}"
export SITE_URL="${SITE_URL:-${PORTAL_URL:-http://127.0.0.1:${PORT:-8000}}}"

if [ -n "${CELERY_BROKER_URL:-}" ]; then
  .venv/bin/celery -A iom_portal worker --loglevel=INFO --concurrency=2 & pids+=($!)
  .venv/bin/celery -A iom_portal beat --loglevel=INFO & pids+=($!)
  echo "Celery worker and beat started on $CELERY_BROKER_URL"
else
  echo "No CELERY_BROKER_URL: background tasks run in-process; undelivered e-mails are retried every minute."
  $PY manage.py send_outbox --every 60 & pids+=($!)
fi
echo "Portal on http://127.0.0.1:${PORT:-8000}/ (French) — log in as staff / demo-pass-2026"
$PY manage.py runserver "127.0.0.1:${PORT:-8000}" & pids+=($!)
wait -n "${pids[@]}"
