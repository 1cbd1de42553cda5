"""Settings of the IOM Niger programme portal, driven by environment variables (see .env.example)."""

import sys
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
TESTING = "pytest" in sys.modules


def _required_in_production(name: str, dev_default: str) -> str:
    """Return the variable; outside DEBUG and tests, refuse to start without it."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG or TESTING:
        return dev_default
    raise ImproperlyConfigured(f"{name} must be set when DEBUG is off (see .env.example).")


# --- Core -------------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = _required_in_production("SECRET_KEY", "insecure-development-key-do-not-use-in-production")
ALLOWED_HOSTS = [
    h.strip()
    for h in _required_in_production("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # runserver leaves static files to WhiteNoise (below), so they are compressed under `make run` too.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "crispy_forms",
    "crispy_bootstrap5",
    "auditlog",
    "axes",
    "django_celery_beat",
    "csp",
    "outbox",
    "partners",
    "regions",
    "programmes",
    "reviews",
    "reports",
    "reporting",
    "imports",
    "obligations",
    "iom_portal.apps.PortalConfig",  # the wiring: security log receivers; backup and restore commands
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "iom_portal.security.RejectNulBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "iom_portal.security.LoginThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "iom_portal.security.SessionLifetimeMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "iom_portal.security.ResponseHeadersMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "iom_portal.urls"
WSGI_APPLICATION = "iom_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
# Django's form templates, with <select> options built in Python (the edit page has ~2,000 options).
FORM_RENDERER = "core.forms_renderer.FormRenderer"

# --- Database ---------------------------------------------------------------------------------
# Embedded default: SQLite next to manage.py. Production: DATABASE_URL=postgres://...
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite is the embedded default (`make run`, `make test`). The dev server and the browser tests'
    # live server answer requests in several threads, each with its own connection: write-ahead logging
    # lets readers work beside one writer, IMMEDIATE transactions take the write lock up front (no
    # "database is locked" when two requests upgrade at once) and the timeout waits for it.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL"}
    )
    if TESTING:
        # A file, not Django's in-memory default: in memory, the live server's threads share the test's
        # one connection, and two concurrent requests interleave savepoints ("no such savepoint").
        # pytest-xdist workers append their own suffix (_gw0, _gw1).
        # A throwaway database: no fsync on commit.
        DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}
        DATABASES["default"]["OPTIONS"]["init_command"] += "; PRAGMA synchronous=OFF"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------------------------
# Reference lists (labelled places), API throttle counts and the per-username login slow-down. The
# default lives in each process's memory; with several web or worker processes set CACHE_URL to a
# shared cache (redis://redis:6379/1) so that they all count and see the same.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- Users and authentication -----------------------------------------------------------------
AUTH_USER_MODEL = "partners.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Behind a TLS proxy (or a chain of them), how many proxies in front of the portal append to
# X-Forwarded-For. 0: the connecting address is the client (X-Forwarded-For ignored). Only set it
# to the number of proxies you run: a higher number lets clients choose their own address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Login throttling on username + client address, so an attacker elsewhere cannot lock a real user out.
AXES_CLIENT_IP_CALLABLE = "iom_portal.security.axes_client_ip"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Per username, from any address: after this many failures within an hour, each further attempt
# waits 1, 2, 4 ... seconds, at most LOGIN_USERNAME_MAX_DELAY (browsers that signed in before are exempt).
LOGIN_USERNAME_FREE_FAILURES = env.int("LOGIN_USERNAME_FREE_FAILURES", default=10)
LOGIN_USERNAME_MAX_DELAY = env.int("LOGIN_USERNAME_MAX_DELAY", default=60)
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# Sessions: 30 minutes of inactivity ends a session, and so do 10 hours since login whatever the
# activity (absolute lifetime); the browser closing ends it too. Django rotates the key at login.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=30 * 60)
SESSION_ABSOLUTE_AGE = env.int("SESSION_ABSOLUTE_AGE", default=10 * 60 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Africa/Niamey")
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Served at the site root by WhiteNoise: /favicon.ico for pages that do not name their icon (admin, API docs).
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
# Uploaded documents are private: never under STATIC_ROOT, served only by permission-checked views.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "private")))
MEDIA_URL = "/private-media-not-served/"
_manifest = env.bool("STATICFILES_MANIFEST", default=not (DEBUG or TESTING))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if _manifest
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_MAX_AGE = 31536000 if _manifest else 0
if not _manifest:
    # No collectstatic: WhiteNoise serves straight from static/ and, with no pre-compressed copies to
    # pick from, GZipMiddleware placed in front of it compresses CSS, JS and GeoJSON on the fly.
    WHITENOISE_USE_FINDERS = True
    MIDDLEWARE.remove("core.middleware.GZipMiddleware")
    MIDDLEWARE.insert(MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware"), "core.middleware.GZipMiddleware")
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000
DOCUMENT_MAX_UPLOAD_BYTES = env.int("DOCUMENT_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
# Largest IATI file or spreadsheet accepted for import (IOM's whole published IATI file is about 60 MB).
IMPORT_MAX_UPLOAD_BYTES = env.int("IMPORT_MAX_UPLOAD_BYTES", default=100 * 1024 * 1024)
# Files up to this size are previewed during the upload request; larger ones by a background job.
IMPORT_INLINE_BYTES = env.int("IMPORT_INLINE_BYTES", default=2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- E-mail -----------------------------------------------------------------------------------
# Every message goes to the outbox table first (outbox/): EMAIL_URL names the backend that delivers
# from there, after commit, retried by the worker/beat (or `send_outbox`) until it goes through.
_email = env.email_url("EMAIL_URL", default="consolemail://" if (DEBUG or TESTING) else "smtp://localhost:25")
vars().update(_email)
EMAIL_DELIVERY_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_BACKEND = "outbox.backends.OutboxBackend"
OUTBOX_KEEP_SENT_DAYS = env.int("OUTBOX_KEEP_SENT_DAYS", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="OIM Niger <no-reply@iom-niger.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery -----------------------------------------------------------------------------------
# No broker configured: tasks run in-process (the embedded default of `make run`).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# Job rows in the database are the truth about background work; the result backend only serves
# `celery call`-style checks, so by default it is the Redis broker itself.
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else ""
)
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Hard time limit stays below the broker's visibility timeout, so a task is never run twice at once.
# A broker that does not answer fails fast: the web request records the job and answers at once.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 3}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}
# Review reminders: every morning, reviewers REVIEW_REMINDER_DAYS days late are reminded (again every N days).
CELERY_BEAT_SCHEDULE["reviews-overdue-reminders"] = {
    "task": "reviews.send_overdue_review_reminders",
    "schedule": crontab(hour=7, minute=0),
}

# Obligation reminders (obligations/): every morning, before the due date, when overdue, then escalated.
CELERY_BEAT_SCHEDULE["obligations-reminders"] = {
    "task": "obligations.send_reminders",
    "schedule": crontab(hour=7, minute=15),
}
# Days before the due date the responsible is reminded; an obligation within OBLIGATION_DUE_SOON_DAYS is "due".
OBLIGATION_REMINDER_DAYS_BEFORE = env.int("OBLIGATION_REMINDER_DAYS_BEFORE", default=14)
OBLIGATION_DUE_SOON_DAYS = env.int("OBLIGATION_DUE_SOON_DAYS", default=30)
# Days after the overdue reminder (and past the due date) before the programme's manager is told.
OBLIGATION_ESCALATION_DAYS = env.int("OBLIGATION_ESCALATION_DAYS", default=7)
# Undelivered e-mails of the outbox: every minute.
CELERY_BEAT_SCHEDULE["outbox-deliver-due"] = {"task": "outbox.deliver_due", "schedule": 60}

# --- Page aggregates (programmes/summary.py) ----------------------------------------------------
# Where the dashboard, place, sector and map figures are recomputed after a change: "celery" (a worker;
# the default with a broker), "thread" (a background thread of the web process; the default without one)
# or "inline" (in the request that finds them stale: exact at once, slow on large databases).
SUMMARY_REFRESH = env.str("SUMMARY_REFRESH", default="")
# A refresh claimed longer ago than this (seconds) is taken as abandoned and claimed again.
SUMMARY_REFRESH_TIMEOUT = env.int("SUMMARY_REFRESH_TIMEOUT", default=5 * 60)
# Anything a lost message left stale is refreshed by beat.
CELERY_BEAT_SCHEDULE["programmes-refresh-summaries"] = {"task": "programmes.refresh_summaries", "schedule": 5 * 60}

# --- Reports (background jobs, see reports/) ---------------------------------------------------
CELERY_BEAT_SCHEDULE |= {
    "reports-recover-stale-jobs": {"task": "reports.recover_stale_jobs", "schedule": 5 * 60},
    # Jobs recorded while the broker was unreachable are sent once it is back.
    "reports-dispatch-queued-jobs": {"task": "reports.dispatch_queued_jobs", "schedule": 60},
    "reports-delete-expired-files": {"task": "reports.delete_expired_files", "schedule": 60 * 60},
    "reports-monthly-portfolio": {
        "task": "reports.monthly_portfolio",
        "schedule": crontab(minute=0, hour=6, day_of_month=1),
    },
}
# A running job writes a heartbeat at least this often; older than REPORTS_STALE_AFTER means its worker died.
REPORTS_HEARTBEAT_SECONDS = env.int("REPORTS_HEARTBEAT_SECONDS", default=10)
REPORTS_STALE_AFTER = env.int("REPORTS_STALE_AFTER", default=10 * 60)
REPORTS_MAX_ATTEMPTS = env.int("REPORTS_MAX_ATTEMPTS", default=3)
REPORTS_RETENTION_DAYS = env.int("REPORTS_RETENTION_DAYS", default=7)
REPORTS_CHUNK_SIZE = env.int("REPORTS_CHUNK_SIZE", default=1000)
# Test hook only: seconds to sleep after each chunk, so a test can kill a worker in the middle of a job.
REPORTS_SLOW_DOWN_SECONDS = env.float("REPORTS_SLOW_DOWN_SECONDS", default=0.0)
# The role address given as contact in the 3W/4W matrix and on factsheets (an office box, never a person's).
REPORTS_CONTACT_EMAIL = env.str("REPORTS_CONTACT_EMAIL", default="iomniamey@iom.int")

# --- REST API ---------------------------------------------------------------------------------
# Throttling per client: anonymous per IP address, signed-in per user. Counts live in the default
# cache (per process unless a shared cache is configured), so with N gunicorn workers the effective
# ceiling is up to N times the rate. Tests run with rates no test reaches (one test lowers them).
API_THROTTLE_ANON = env.str("API_THROTTLE_ANON", default="60/minute")
API_THROTTLE_USER = env.str("API_THROTTLE_USER", default="1200/minute")
if TESTING:
    API_THROTTLE_ANON = API_THROTTLE_USER = "1000000/minute"
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes a request without credentials a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "partners.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.SafeJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.api.ApiPagination",
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["core.api.ApiAnonThrottle", "core.api.ApiUserThrottle"],
    "DEFAULT_THROTTLE_RATES": {"anon": API_THROTTLE_ANON, "user": API_THROTTLE_USER},
    "EXCEPTION_HANDLER": "core.api.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "IOM Niger programme portal API",
    "DESCRIPTION": (
        "Programmes, partners, places, sectors and key figures of the IOM Niger programme portal, scoped "
        "like the web: a partner user sees only the programmes its organisation takes part in. "
        "Authenticate with a personal token (`Authorization: Token <secret>`, created at /fr/accounts/tokens/) "
        "or a browser session. Errors share one body: {status, code, detail, errors}. Messages follow "
        "Accept-Language (fr by default, en)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "iom_portal.api.complete_schema",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ProgrammeScopeEnum": "programmes.models.Scope",
        "FigureScopeEnum": "programmes.models.FigureScope",
        "ProgrammeStatusEnum": "programmes.models.Status",
        "ModalityEnum": "programmes.models.Modality",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# Only for bench/: the minimal views /bench/floor (HTML) and /bench/floor.json that pages and API
# endpoints are measured against.
BENCH_FLOOR = env.bool("BENCH_FLOOR", default=False)

# --- Forms ------------------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Portal -----------------------------------------------------------------------------------
# Partner-visible disaggregated cells below this count are shown as "< N".
SMALL_CELL_THRESHOLD = env.int("SMALL_CELL_THRESHOLD", default=5)
IATI_ORGANISATION_PREFIX = env.str("IATI_ORGANISATION_PREFIX", default="XM-DAC-47066")
MAP_TILE_URL = env.str("MAP_TILE_URL", default="")
# Review and approval: reviews this many days past due get a reminder e-mail (and again every N days).
REVIEW_REMINDER_DAYS = env.int("REVIEW_REMINDER_DAYS", default=3)
if REVIEW_REMINDER_DAYS < 1:
    raise ImproperlyConfigured("REVIEW_REMINDER_DAYS must be a whole number of days, at least 1.")
# Public address of the portal: every link in an e-mail starts with it (`make run` sets it from PORT).
# PORTAL_URL is its former name, still read when SITE_URL is not set.
SITE_URL = env.str("SITE_URL", default="") or env.str("PORTAL_URL", default="http://127.0.0.1:8000")
PORTAL_URL = SITE_URL

AUDITLOG_INCLUDE_ALL_MODELS = False

# --- Security (production) --------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG and not TESTING)
SESSION_COOKIE_SECURE = not DEBUG and not TESTING
CSRF_COOKIE_SECURE = not DEBUG and not TESTING
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy: scripts only from our own origin (plus per-request nonces), never inline.
# Styles allow inline attributes (the Django admin and Leaflet use them); no script does.
_tiles = urlsplit(MAP_TILE_URL.replace("{s}", "*"))
_map_tiles = [f"{_tiles.scheme}://{_tiles.netloc}"] if MAP_TILE_URL else []
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", *_map_tiles],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# --- Logging ----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # Logins, failed logins, lockouts and refused accesses (never passwords or tokens).
        "iom_portal.security": {"level": "INFO"},
    },
}
