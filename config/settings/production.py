"""Settings for a real deployment behind a TLS-terminating proxy; every secret is required."""

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import Q_CLUSTER, REDIS_URL, SANDBOX_ENABLED, env

DEBUG = False
# The vendor sandbox is for demos and tests: mounted in production it would hand out OAuth codes
# and accept API calls for made-up organisations. Refuse to start rather than serve it.
if SANDBOX_ENABLED:
    raise ImproperlyConfigured(
        "SANDBOX_ENABLED must be off in production (config.settings.production); "
        "the vendor sandbox is for demos and tests."
    )
SECRET_KEY = env("SECRET_KEY").strip()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
TOKEN_ENCRYPTION_KEYS = [key.strip() for key in env.list("TOKEN_ENCRYPTION_KEYS") if key.strip()]


def _refuse_unusable_keys() -> None:
    """Keys that `check --deploy` lets through would otherwise fail at first use (a 500 at the
    MFA step, or a sync that cannot store its tokens): refuse to start, naming the variable."""
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY is empty: set it to a long random value.")
    if not TOKEN_ENCRYPTION_KEYS:
        raise ImproperlyConfigured(
            "TOKEN_ENCRYPTION_KEYS holds no key: set it to one or more Fernet keys, comma "
            "separated (newest first)."
        )
    for position, key in enumerate(TOKEN_ENCRYPTION_KEYS, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"TOKEN_ENCRYPTION_KEYS: key {position} is not a Fernet key (32 url-safe "
                "base64-encoded bytes, as Fernet.generate_key() makes)."
            ) from None


_refuse_unusable_keys()
# Password-reset links must reach people, never a console log: a real mail server is required.
EMAIL_CONFIG = env.email_url("EMAIL_URL")
vars().update(EMAIL_CONFIG)

# Login rate limits must be shared by every worker process: Redis when configured, otherwise
# the database (run `manage.py createcachetable` once), never a per-process memory cache.
if not REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "syncdesk_cache",
        }
    }

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# /healthz is probed over plain HTTP by load balancers inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"

# The task broker only wakes workers: the outbox row commits with the change and the minute sweep
# drains whatever a lost wake-up left. Q_BROKER=orm (the default) keeps the queue in PostgreSQL;
# Q_BROKER=redis moves it to REDIS_URL (README "Running past one machine" has the figures).
Q_BROKER = env("Q_BROKER", default="orm")
if Q_BROKER == "redis":
    if not REDIS_URL:
        raise ImproperlyConfigured("Q_BROKER=redis needs REDIS_URL.")
    Q_CLUSTER = {**{k: v for k, v in Q_CLUSTER.items() if k != "orm"}, "redis": REDIS_URL}
elif Q_BROKER != "orm":
    raise ImproperlyConfigured(f"Q_BROKER must be orm or redis, not {Q_BROKER!r}.")

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
