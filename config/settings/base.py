"""Settings shared by every environment, all read from one django-environ `env`."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A developer's .env is read when present; real deployments pass the environment.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_q",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "simple_history",
    "django_htmx",
    "apps.core",
    "apps.users",
    "apps.clients",
    "apps.catalog",
    "apps.tickets",
    "apps.quotes",
    "apps.invoices",
    "apps.imports",
    "apps.sync",
    "apps.api",
    "apps.sandbox",
    "apps.sandbox.xero",
    "apps.workspace",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "apps.users.middleware.AdminMfaRequiredMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite when DATABASE_URL is unset; PostgreSQL (psycopg 3) when it points at one.
# An empty DATABASE_URL (as left by a copied .env.example) counts as unset.
DATABASES = {
    "default": env.db_url_config(
        env("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so two writers queue instead of
    # failing with "database is locked" half-way through (ecosystem-notes §8).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
# Redis when REDIS_URL is set (shared by every process: login rate limits, rate governor);
# otherwise a per-process memory cache, which is enough for one machine.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "TIMEOUT": 300,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Users, login and MFA -------------------------------------------------------------------
AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

ACCOUNT_ADAPTER = "apps.users.adapters.StaffOnlyAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "none"  # staff are provisioned by an admin with a verified address
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "reauthenticate": "10/m/user",
}
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

MFA_ADAPTER = "apps.users.adapters.EncryptedSecretsMFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Syncdesk"
# Admins must have a TOTP authenticator before any page but the MFA set-up itself.
MFA_REQUIRED_FOR_ADMINS = env.bool("MFA_REQUIRED_FOR_ADMINS", default=True)

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Syncdesk <no-reply@syncdesk.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Tasks (django-q2) ----------------------------------------------------------------------
# The ORM broker on the default database: an enqueue inside a transaction commits or rolls back
# with it. django-q2 never retries on its own (max_attempts=1, ack_failures): retries, backoff
# and dead letters belong to our own tables (ecosystem-notes §1.8). retry > timeout, always.
Q_CLUSTER = {
    "name": "syncdesk",
    "orm": "default",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": 120,
    "retry": 300,
    "max_attempts": 1,
    "ack_failures": True,
    "save_limit": 1000,
    "catch_up": False,
    "poll": 0.5,
    "label": "Tasks",
}

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "rest_framework.permissions.DjangoModelPermissions",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "NUM_PROXIES": ALLAUTH_TRUSTED_PROXY_COUNT,
    "EXCEPTION_HANDLER": "apps.api.errors.api_exception_handler",
    # Requests per token (or signed-in user) per period; 429 with Retry-After past it.
    "DEFAULT_THROTTLE_RATES": {"api": env("API_THROTTLE_RATE", default="600/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Syncdesk API",
    "VERSION": "1",
    "DESCRIPTION": (
        "REST v1 over Syncdesk's clients, catalogue, tickets, quotes, invoices and payments. "
        "Sign in with the browser's session or send `Authorization: Bearer <token>`. Money is a "
        "decimal string. Errors are RFC 9457 problem details (`application/problem+json`). Every "
        "POST accepts an `Idempotency-Key`; PATCH accepts `If-Match` with the record's ETag."
    ),
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SERVE_AUTHENTICATION": [
        "apps.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.api.schema.postprocess",
    ],
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "apps.tickets.models.Ticket.Status",
        "QuoteStatusEnum": "apps.quotes.models.Quote.Status",
        "InvoiceStatusEnum": "apps.invoices.models.Invoice.Status",
    },
    # Swagger UI served from our own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Vendors and the sandbox ----------------------------------------------------------------
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=False)
# Fernet keys, newest first; tokens are re-encrypted under the first by `sync rotate-keys`.
TOKEN_ENCRYPTION_KEYS = env.list("TOKEN_ENCRYPTION_KEYS", default=[])
ZOHO_CLIENT_ID = env("ZOHO_CLIENT_ID", default="")
ZOHO_CLIENT_SECRET = env("ZOHO_CLIENT_SECRET", default="")
ZOHO_BOOKS_WEBHOOK_SECRET = env("ZOHO_BOOKS_WEBHOOK_SECRET", default="")
ZOHO_CRM_WEBHOOK_TOKEN = env("ZOHO_CRM_WEBHOOK_TOKEN", default="")
# Zoho CRM deal stages for a sent, accepted and rejected quote (the org's pipeline names).
ZOHO_CRM_DEAL_STAGE_SENT = env("ZOHO_CRM_DEAL_STAGE_SENT", default="Quote Sent")
ZOHO_CRM_DEAL_STAGE_WON = env("ZOHO_CRM_DEAL_STAGE_WON", default="Closed Won")
ZOHO_CRM_DEAL_STAGE_LOST = env("ZOHO_CRM_DEAL_STAGE_LOST", default="Closed Lost")
# Public base URL vendors post webhooks to (the CRM watch channel's notify_url is built on it).
SYNC_WEBHOOK_BASE_URL = env("SYNC_WEBHOOK_BASE_URL", default="http://127.0.0.1:8000")
XERO_CLIENT_ID = env("XERO_CLIENT_ID", default="")
XERO_CLIENT_SECRET = env("XERO_CLIENT_SECRET", default="")
# Where the sandbox is reachable when it stands in for the vendors (the web server's origin).
SANDBOX_BASE_URL = env("SANDBOX_BASE_URL", default="http://127.0.0.1:8000/sandbox")

# Each vendor URL: what the environment says, else the sandbox's when it is on, else the vendor's.
VENDOR_URLS = {
    "ZOHO_ACCOUNTS_URL": ("zoho/accounts", "https://accounts.zoho.com"),
    "ZOHO_API_URL": ("zoho/api", "https://www.zohoapis.com"),
    "XERO_LOGIN_URL": ("xero/login", "https://login.xero.com"),
    "XERO_IDENTITY_URL": ("xero/identity", "https://identity.xero.com"),
    "XERO_API_URL": ("xero/api", "https://api.xero.com"),
}


def vendor_urls(sandbox_enabled: bool, sandbox_base_url: str) -> dict[str, str]:
    urls = {}
    for name, (sandbox_path, real_url) in VENDOR_URLS.items():
        fallback = f"{sandbox_base_url.rstrip('/')}/{sandbox_path}" if sandbox_enabled else real_url
        urls[name] = env(name, default="") or fallback
    return urls


vars().update(vendor_urls(SANDBOX_ENABLED, SANDBOX_BASE_URL))
XERO_WEBHOOK_KEY = env("XERO_WEBHOOK_KEY", default="")

# --- Sync engine ----------------------------------------------------------------------------
# Seconds before a vendor call (and a token refresh) gives up; an unanswered create is then
# looked up by our reference before it is retried.
# The connectors the sync engine loads at start; each module registers its providers (DESIGN.md
# "Sync layout"). A new vendor is a package under apps/sync/connectors/ and a line here.
SYNC_CONNECTORS = [
    "apps.sync.connectors.zoho.connector",
    "apps.sync.connectors.xero.connector",
]
SYNC_HTTP_TIMEOUT = env.float("SYNC_HTTP_TIMEOUT", default=30.0)
SYNC_TOKEN_TIMEOUT = env.float("SYNC_TOKEN_TIMEOUT", default=10.0)
# The timeout above is per socket read; a vendor call (its whole answer) ends by this deadline,
# and an answer larger than this many bytes is refused (read in chunks, never whole).
SYNC_HTTP_DEADLINE = env.float("SYNC_HTTP_DEADLINE", default=60.0)
SYNC_HTTP_MAX_BODY_BYTES = env.int("SYNC_HTTP_MAX_BODY_BYTES", default=10 * 1024 * 1024)
# A pull stops with an error past this many pages in one run (Zoho's page context has no total,
# so a vendor that always says "more" would otherwise spend the daily budget).
SYNC_PULL_MAX_PAGES = env.int("SYNC_PULL_MAX_PAGES", default=2000)
# Multiplies the rate governor's windows (1 = real minutes and days); the sandbox and tests scale.
SYNC_CLOCK_SCALE = env.float("SYNC_CLOCK_SCALE", default=1.0)
# Per-provider overrides of the built-in vendor limits, e.g. {"xero": {"per_day": 1000}}.
SYNC_RATE_LIMITS: dict = {}
# Share of each window that bulk pulls leave for user-triggered pushes.
SYNC_PRIORITY_RESERVE = env.float("SYNC_PRIORITY_RESERVE", default=0.1)
# Pulls re-read this many seconds before the cursor (clock skew between the vendor's servers).
SYNC_PULL_OVERLAP_SECONDS = env.int("SYNC_PULL_OVERLAP_SECONDS", default=300)
# Updates are merged with the vendor's records read by one list per page of changes
# (engine/refresh.py); a drain reads the changes again after this many updates.
SYNC_PUSH_REFRESH_EVERY = env.int("SYNC_PUSH_REFRESH_EVERY", default=50)
# Elements per Xero write call (Xero advises bundles of up to 50); 1 sends one record a call.
SYNC_XERO_BATCH_SIZE = env.int("SYNC_XERO_BATCH_SIZE", default=50)
# A running pull whose heartbeat is older than this is taken over and resumed.
SYNC_RUN_STALE_SECONDS = env.int("SYNC_RUN_STALE_SECONDS", default=600)
SYNC_LOG_RETENTION_DAYS = env.int("SYNC_LOG_RETENTION_DAYS", default=30)
# Outbox retries: full-jitter exponential backoff from BASE seconds up to CAP, then dead letter.
SYNC_OUTBOX_MAX_ATTEMPTS = env.int("SYNC_OUTBOX_MAX_ATTEMPTS", default=12)
SYNC_OUTBOX_BACKOFF_BASE = env.float("SYNC_OUTBOX_BACKOFF_BASE", default=30.0)
SYNC_OUTBOX_BACKOFF_CAP = env.float("SYNC_OUTBOX_BACKOFF_CAP", default=6 * 3600.0)
SYNC_OUTBOX_LEASE_SECONDS = env.int("SYNC_OUTBOX_LEASE_SECONDS", default=120)
# A drain whose connection's head document failed and backs off for at most this many (real)
# seconds waits and sends it again itself, rather than leaving the queue to the next wake-up.
SYNC_OUTBOX_DRAIN_WAIT = env.float("SYNC_OUTBOX_DRAIN_WAIT", default=2.0)
# One queued drain task for any number of changes (a mark in the shared cache); off: a task per
# change, which a backlogged queue with killed workers needs (README, Chaos run).
SYNC_OUTBOX_COALESCE_WAKEUPS = env.bool("SYNC_OUTBOX_COALESCE_WAKEUPS", default=False)
# Circuit breaker per connection (engine/circuit.py): this many connection-level failures in a
# row (unreachable, 5xx) pause its queue; probes go after BASE vendor seconds, doubling up to CAP.
SYNC_CIRCUIT_FAILURES = env.int("SYNC_CIRCUIT_FAILURES", default=10)
SYNC_CIRCUIT_PROBE_BASE = env.float("SYNC_CIRCUIT_PROBE_BASE", default=30.0)
SYNC_CIRCUIT_PROBE_CAP = env.float("SYNC_CIRCUIT_PROBE_CAP", default=900.0)
# Admins are warned this many days before a refresh token would expire unused (Xero: 60 days).
SYNC_TOKEN_DISUSE_WARNING_DAYS = env.int("SYNC_TOKEN_DISUSE_WARNING_DAYS", default=7)


# With the sandbox standing in for the vendors and no OAuth app configured, the sync engine uses
# the public demo clients that `manage.py sandbox seed` registers: the demo needs no account.
SANDBOX_DEMO_CLIENTS = {
    "ZOHO_CLIENT_ID": "1000.SANDBOXCLIENT0000000000000000",
    "ZOHO_CLIENT_SECRET": "sandbox-client-secret-0000000000000000000000",
    "XERO_CLIENT_ID": "SANDBOXXEROCLIENT",
    "XERO_CLIENT_SECRET": "sandbox-xero-secret",
}


def sandbox_demo_clients(sandbox_enabled: bool, configured: dict) -> dict[str, str]:
    if not sandbox_enabled:
        return {}
    return {name: value for name, value in SANDBOX_DEMO_CLIENTS.items() if not configured[name]}


vars().update(sandbox_demo_clients(SANDBOX_ENABLED, vars()))

# --- Internationalisation, static files -----------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
DEFAULT_CURRENCY = env("DEFAULT_CURRENCY", default="ZAR")

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Staff pages (apps.workspace) ------------------------------------------------------------
# The domain's "sent" e-mails attach the document's PDF from this renderer (a dotted path called
# with kind= and document=), so quotes and invoices never import the workspace above them.
DOCUMENT_PDF_RENDERER = env(
    "DOCUMENT_PDF_RENDERER", default="apps.workspace.pdf.document_pdf_attachment"
)

# import-export keeps uploads between preview and confirm in the cache, not on one disk.
IMPORT_EXPORT_TMP_STORAGE_CLASS = "import_export.tmp_storages.CacheStorage"
IMPORT_EXPORT_SKIP_ADMIN_LOG = True
# Our imports (apps/imports): the largest file accepted, how day-first dates and decimal commas
# are read (ISO dates are always accepted), and from how many rows an import runs as a task.
IMPORT_MAX_FILE_MB = env.int("IMPORT_MAX_FILE_MB", default=20)
IMPORT_DATE_ORDER = env("IMPORT_DATE_ORDER", default="DMY")
IMPORT_DECIMAL_COMMA = env.bool("IMPORT_DECIMAL_COMMA", default=False)
IMPORT_TASK_ABOVE_ROWS = env.int("IMPORT_TASK_ABOVE_ROWS", default=1000)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    # Access logs print the request line: OAuth callbacks carry the authorization code there.
    "filters": {"redact_query": {"()": "apps.core.log_filters.RedactQuerySecrets"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_query"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The task queue ("Enqueued …" at INFO); the demo's setup runs it at WARNING (Makefile).
        "django-q": {"level": env("Q_LOG_LEVEL", default="INFO")},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
