"""Settings for SIDEL ScriptsManager.

Every value comes from the environment or `.env` (see `.env.example`, which
documents each one with its unit). The defaults give the embedded single-machine
set-up: SQLite under the data directory, an in-memory channel layer and the
django-q2 ORM broker.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from scriptsmanager.conf import (
    env,
    env_bool,
    env_choice,
    env_clock,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_path,
    env_str,
    secret_key_load,
)

BASE_DIR = Path(__file__).resolve().parent.parent
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

# --- Core -------------------------------------------------------------------
BASE_DATA_PATH = env_path("BASE_DATA_PATH", BASE_DIR / "data", base=BASE_DIR)
SECRET_KEY = secret_key_load(BASE_DATA_PATH)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
LISTEN_HOST = env_str("LISTEN_HOST", "127.0.0.1")
LISTEN_PORT = env_int("LISTEN_PORT", 8000, minimum=1, maximum=65535)
WEB_WORKERS = env_int("WEB_WORKERS", 1, minimum=1, maximum=32)
PROXY_HEADERS = env_bool("PROXY_HEADERS", False)
if PROXY_HEADERS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Peers whose X-Forwarded-* headers are believed (scriptsmanager.proxies).
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES", ["127.0.0.1", "::1"])

SCRIPT_GROUPS_DIR = env_path(
    "SCRIPT_GROUPS_DIR", BASE_DIR / "app" / "backend" / "script_groups", base=BASE_DIR
)
# Extra conda installations to look in (comma-separated folders holding envs/),
# besides the one found through CONDA_EXE, PATH and the usual install places.
CONDA_ROOTS = [Path(p).expanduser() for p in env_list("CONDA_ROOTS", [])]
# Minutes between the periodic discovery runs (the file watcher reacts at once).
DISCOVERY_INTERVAL_MINUTES = env_int("DISCOVERY_INTERVAL_MINUTES", 5, minimum=1)
LOGS_DIR = BASE_DATA_PATH / "logs"
AUDIT_LOG_DIR = LOGS_DIR / "audit"
BACKUP_PATH = env_path("BACKUP_PATH", BASE_DATA_PATH.parent / "backup", base=BASE_DIR)

INSTALLED_APPS = [
    "daphne",
    "modeltranslation",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_q",
    "ninja",
    "scriptsmanager",
    "accounts",
    "catalog",
    "execution",
    "logs",
    "projects",
    "backups",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserPreferencesMiddleware",
    "scriptsmanager.middleware.RejectNulCharactersMiddleware",
    "scriptsmanager.middleware.ApiNoStoreMiddleware",
    "accounts.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "scriptsmanager.urls"
WSGI_APPLICATION = "scriptsmanager.wsgi.application"
ASGI_APPLICATION = "scriptsmanager.asgi.application"

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
                "accounts.context_processors.ui",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{BASE_DATA_PATH / 'scriptsmanager.db'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while the q2 cluster or a launcher writes;
    # IMMEDIATE transactions take the write lock up front, so two writers
    # queue on busy_timeout instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 10, minimum=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DB_POOL_MAX_SIZE:
    # Under ASGI each request runs in its own thread, so persistent connections
    # (CONN_MAX_AGE) pile up to PostgreSQL's limit; a pool per process reuses a
    # few instead of opening one per request. Health checks drop connections a
    # database restart broke before they are handed out.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": 30,
    }
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "scriptsmanager")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": REDIS_KEY_PREFIX},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

Q_CLUSTER = {
    # The queue's key in Redis: installations sharing one Redis stay apart.
    "name": REDIS_KEY_PREFIX,
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    "timeout": 3600,
    "retry": 3700,
    "catch_up": False,
    "label": "Background jobs",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Accounts, sessions, security --------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Every login (pages, API, Django admin) is throttled inside authentication.
AUTHENTICATION_BACKENDS = ["accounts.backends.ThrottledModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

SESSION_COOKIE_AGE = env_int("LOGIN_SESSION_AGE", 43200, minimum=60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "SAMEORIGIN"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# HSTS: browsers that once reached the site over HTTPS refuse plain HTTP to it
# for this many seconds. Sent only on HTTPS answers; on by default with
# SECURE_COOKIES, which says the site is served over HTTPS.
SECURE_HSTS_SECONDS = env_int(
    "SECURE_HSTS_SECONDS", 31536000 if SESSION_COOKIE_SECURE else 0, minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)

LOGIN_THROTTLE_WINDOW = env_int("LOGIN_THROTTLE_WINDOW", 900, minimum=1)
# LOGIN_THROTTLE_MAX_PER_USER is the older name of the pair limit, still read.
LOGIN_THROTTLE_MAX_PER_PAIR = env_int(
    "LOGIN_THROTTLE_MAX_PER_PAIR", env_int("LOGIN_THROTTLE_MAX_PER_USER", 5, minimum=1), minimum=1
)
LOGIN_THROTTLE_MAX_PER_ADDRESS = env_int("LOGIN_THROTTLE_MAX_PER_ADDRESS", 20, minimum=1)
LOGIN_BACKOFF_AFTER = env_int("LOGIN_BACKOFF_AFTER", 10, minimum=1)
LOGIN_BACKOFF_BASE_SECONDS = env_int("LOGIN_BACKOFF_BASE_SECONDS", 1, minimum=1)
LOGIN_BACKOFF_MAX_SECONDS = env_int("LOGIN_BACKOFF_MAX_SECONDS", 60, minimum=1)

ADMIN_USERNAME = env_str("ADMIN_USERNAME", "admin")
ADMIN_EMAIL = env_str("ADMIN_EMAIL", "admin@localhost")

# --- Internationalisation ---------------------------------------------------------
LANGUAGE_CODE = env_choice("LANGUAGE_CODE", "en", ("en", "es", "it", "fr"))
LANGUAGES = [("en", _("English")), ("es", _("Spanish")), ("it", _("Italian")), ("fr", _("French"))]
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "sm_language"
THEME_COOKIE_NAME = "sm_theme"
THEMES = ("light", "dark")
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files and branding -------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DATA_PATH / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serve straight from the source folders: nothing to collect before the first start.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
BRANDING_LOGO = env_path(
    "BRANDING_LOGO", BASE_DIR / "static" / "images" / "SIDEL.png", base=BASE_DIR
)

# --- Script interfaces ---------------------------------------------------------------
PORT_RANGE_START = env_int("PORT_RANGE_START", 5200, minimum=1024, maximum=65535)
PORT_RANGE_END = env_int("PORT_RANGE_END", 5400, minimum=1024, maximum=65535)
if PORT_RANGE_END < PORT_RANGE_START:
    raise ImproperlyConfigured(
        f"PORT_RANGE_END ({PORT_RANGE_END}) must not be below "
        f"PORT_RANGE_START ({PORT_RANGE_START})."
    )
SESSION_TIMEOUT = env_int("SESSION_TIMEOUT", 1800, minimum=10)
HEARTBEAT_INTERVAL = env_int("HEARTBEAT_INTERVAL", 30, minimum=1)
INTERFACE_READY_TIMEOUT = env_int("INTERFACE_READY_TIMEOUT", 30, minimum=1)
MAX_CONCURRENT_INTERFACES = env_int("MAX_CONCURRENT_INTERFACES", 20, minimum=1)
MAX_INTERFACES_PER_USER = env_int("MAX_INTERFACES_PER_USER", 5, minimum=1)
MAX_CONCURRENT_RUNS = env_int("MAX_CONCURRENT_RUNS", 50, minimum=1)
MAX_RUNS_PER_USER = env_int("MAX_RUNS_PER_USER", 10, minimum=1)
SCRIPT_PARAMETER_MAX_BYTES = env_int("SCRIPT_PARAMETER_MAX_BYTES", 32768, minimum=1)
INTERFACE_ACCESS = env_choice("INTERFACE_ACCESS", "proxy", ("proxy", "direct"))
TAB_CLOSE_GRACE = env_int("TAB_CLOSE_GRACE", 15, minimum=1)
IDLE_WARNING_SECONDS = env_int("IDLE_WARNING_SECONDS", 60, minimum=5)
CLEANUP_INTERVAL = env_int("CLEANUP_INTERVAL", 300, minimum=10)
STOP_GRACE_SECONDS = env_int("STOP_GRACE_SECONDS", 5, minimum=1)
SCRIPT_MEMORY_LIMIT_MB = env_int("SCRIPT_MEMORY_LIMIT_MB", 4096, minimum=0)
SCRIPT_CPU_LIMIT_SECONDS = env_int("SCRIPT_CPU_LIMIT_SECONDS", 0, minimum=0)
DEFAULT_EXECUTION_TIMEOUT = env_int("DEFAULT_EXECUTION_TIMEOUT", 0, minimum=0)
OUTPUT_DB_LIMIT_BYTES = env_int("OUTPUT_DB_LIMIT_BYTES", 1048576, minimum=1024)
SCRIPT_OUTPUT_LIMIT_MB = env_int("SCRIPT_OUTPUT_LIMIT_MB", 100, minimum=0)

# Content-Security-Policy of the manager's pages: its own scripts, styles and
# fonts (all vendored: no inline code, no CDN), images from itself and data:,
# frames from itself (the proxied interfaces under /interfaces/<token>/app/,
# which bypass Django and so this header) or, with INTERFACE_ACCESS=direct,
# from the scripts' own loopback ports.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-src": [
        CSP.SELF,
        *(
            [f"http://127.0.0.1:{port}" for port in range(PORT_RANGE_START, PORT_RANGE_END + 1)]
            if INTERFACE_ACCESS == "direct"
            else []
        ),
    ],
    "frame-ancestors": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
}

# --- Logs and backups ---------------------------------------------------------------
LOG_RETENTION_DAYS = {
    "viewer": env_int("LOG_RETENTION_VIEWER_DAYS", 7, minimum=1),
    "operator": env_int("LOG_RETENTION_OPERATOR_DAYS", 30, minimum=1),
    "developer": env_int("LOG_RETENTION_DEVELOPER_DAYS", 90, minimum=1),
    "admin": env_int("LOG_RETENTION_ADMIN_DAYS", 365, minimum=1),
}
LOG_STORAGE_QUOTA_MB = env_int("LOG_STORAGE_QUOTA_MB", 1024, minimum=1)
BACKUP_ENABLED = env_bool("BACKUP_ENABLED", True)
BACKUP_SCHEDULE_TIME = env_clock("BACKUP_SCHEDULE_TIME", "02:00")
BACKUP_RETENTION_DAYS = env_int("BACKUP_RETENTION_DAYS", 30, minimum=1)
BACKUP_EXCLUDE_PATTERNS = env_list("BACKUP_EXCLUDE_PATTERNS", ["*.tmp", "__pycache__", "*.pyc"])
BACKUP_MAX_SIZE_GB = env_float("BACKUP_MAX_SIZE_GB", 10.0, minimum=0.001)
MAX_PROJECTS_PER_USER = env_int("MAX_PROJECTS_PER_USER", 50, minimum=1)
DATA_FILE_MAX_BYTES = env_int("DATA_FILE_MAX_BYTES", 10 * 1024 * 1024, minimum=1)
ADMIN_CAN_ACCESS_ALL_DATA = env_bool("ADMIN_CAN_ACCESS_ALL_DATA", True)
# How long the move to unique folder names (migrate, restore of an older backup)
# waits for live runs to end before refusing.
DATA_FOLDERS_MIGRATION_WAIT_SECONDS = env_int("DATA_FOLDERS_MIGRATION_WAIT_SECONDS", 60, minimum=0)

# --- The ASGI edge: request bodies, WebSockets -------------------------------------
# Bodies over these are answered 413 before they are read (bytes): anonymous
# requests, signed-in pages and API calls, and script interfaces.
ANONYMOUS_BODY_MAX_BYTES = env_int("ANONYMOUS_BODY_MAX_BYTES", 64 * 1024, minimum=1024)
REQUEST_BODY_MAX_BYTES = env_int(
    "REQUEST_BODY_MAX_BYTES", DATA_FILE_MAX_BYTES + 1024 * 1024, minimum=1024
)
INTERFACE_BODY_MAX_BYTES = env_int("INTERFACE_BODY_MAX_BYTES", 100 * 1024 * 1024, minimum=1024)
# Seconds a refused upload is still read (and thrown away) so the client sees the 413.
REFUSED_BODY_LINGER_SECONDS = env_float("REFUSED_BODY_LINGER_SECONDS", 5.0, minimum=0.0)
WEBSOCKETS_PER_USER = env_int("WEBSOCKETS_PER_USER", 20, minimum=1)

SYSTEM_LOG_DIR = LOGS_DIR / "system"
SYSTEM_LOG_DIR.mkdir(parents=True, exist_ok=True)
SYSTEM_LOG_MAX_BYTES = env_int("SYSTEM_LOG_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
SYSTEM_LOG_KEEP = env_int("SYSTEM_LOG_KEEP", 5, minimum=1)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "process": {"format": "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        # Several processes append to these files; WatchedFileHandler reopens a
        # file after the daily job rotates it (logs.services.system_logs_rotate).
        "application": {
            "class": "scriptsmanager.files.PrivateWatchedFileHandler",
            "filename": str(SYSTEM_LOG_DIR / "application.log"),
            "formatter": "process",
            "level": "INFO",
        },
        "error": {
            "class": "scriptsmanager.files.PrivateWatchedFileHandler",
            "filename": str(SYSTEM_LOG_DIR / "error.log"),
            "formatter": "process",
            "level": "ERROR",
        },
    },
    "root": {
        "handlers": ["console", "application", "error"],
        "level": env_str("LOG_LEVEL", "INFO").upper(),
    },
    "loggers": {"django.channels.server": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}
# Interface tokens are secrets: every log line carries a short id instead.
LOGGING["filters"] = {
    "redact_interface_tokens": {"()": "scriptsmanager.redaction.RedactInterfaceTokens"}
}
for _handler in LOGGING["handlers"].values():
    _handler["filters"] = ["redact_interface_tokens"]
