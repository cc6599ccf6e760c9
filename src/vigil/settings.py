"""One env-driven settings file.

SQLite (WAL) under VIGIL_DATA_DIR by default; PostgreSQL when DATABASE_URL is set.
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE

from vigil.lib.secrets import data_dir, secret_file

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = data_dir()


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


SECRET_KEY = secret_file("django-secret-key")
DEBUG = _env_bool("VIGIL_DEBUG")
ALLOWED_HOSTS = [
    h for h in os.environ.get("VIGIL_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("VIGIL_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "vigil.accounts",
    "vigil.sites",
    "vigil.participants",
    "vigil.floor",
    "vigil.monitoring",
    "vigil.care",
    "vigil.api",
    "vigil.research",
    "vigil.keeping",
    "vigil.reports",
    "vigil.audit",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "ninja",  # serves /api/docs from its own static files, not a CDN (the CSP allows 'self')
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "csp.middleware.CSPMiddleware",
    "vigil.lib.http.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "vigil.audit.context.AuditContextMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "vigil.accounts.sessions.SessionLimitsMiddleware",
    "vigil.accounts.screens.FloorScreenMiddleware",
    "vigil.accounts.middleware.RoleRequiredMiddleware",
]

ROOT_URLCONF = "vigil.urls"
ASGI_APPLICATION = "vigil.asgi.application"

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
                "vigil.accounts.context_processors.staff_context",
                "vigil.lib.http.csp_nonce",
            ],
        },
    },
]

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=0)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "vigil.lib.sqlite",  # Django's, writers queued in-process
            "NAME": os.environ.get("VIGIL_SQLITE_PATH", str(DATA_DIR / "vigil.sqlite3")),
            "OPTIONS": {
                # WAL lets the floor board read while the desk writes; IMMEDIATE takes the
                # write lock at BEGIN so two writers queue instead of failing mid-transaction.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # A file, not shared-cache memory, so tests with threads lock the way production does.
            "TEST": {"NAME": str(DATA_DIR / "test-vigil.sqlite3")},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.Staff"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("VIGIL_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# A right password does not clear the count: wrong second-factor codes count too, and are
# cleared only when the code is right (accounts/views.py), so a stolen password cannot buy
# fresh code guesses by signing in again.
AXES_RESET_ON_SUCCESS = False
AXES_VERBOSE = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sign-in (docs/sign-in.md): personal sessions end after 15 minutes idle and 12 hours in all;
# exports and administrative changes ask for password and code again after 5 minutes; a PIN
# unlocks a floor screen for a few minutes.
VIGIL_SESSION_IDLE_MINUTES = int(os.environ.get("VIGIL_SESSION_IDLE_MINUTES", "15"))
VIGIL_SESSION_MAX_HOURS = int(os.environ.get("VIGIL_SESSION_MAX_HOURS", "12"))
VIGIL_RECENT_AUTH_SECONDS = int(os.environ.get("VIGIL_RECENT_AUTH_SECONDS", "300"))
VIGIL_SCREEN_UNLOCK_MINUTES = int(os.environ.get("VIGIL_SCREEN_UNLOCK_MINUTES", "5"))
OTP_TOTP_ISSUER = "Vigil"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # no authenticator key or QR code in any admin page

# --- Security (docs/threat-model.md, docs/deploy.md) ---
# VIGIL_PROFILE=production: served behind a TLS reverse proxy on the site's LAN. Secure
# cookies, HSTS and the redirect to https follow from it; `vigil check --deploy` is clean for it
# (lib/tests/test_http.py runs it). VIGIL_TLS=1 gives the TLS part alone (e.g. a staging box).
PRODUCTION = os.environ.get("VIGIL_PROFILE", "") == "production"
if PRODUCTION:
    DEBUG = False
TLS = PRODUCTION or _env_bool("VIGIL_TLS")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = TLS or _env_bool("VIGIL_SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True  # the token reaches htmx through the page (hx-headers), not JS
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if TLS:
    # The reverse proxy terminates TLS and must set (never pass through) X-Forwarded-Proto;
    # vigil serve listens on 127.0.0.1 only, behind it (docs/deploy.md).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the local health check speaks plain HTTP
    SECURE_HSTS_SECONDS = int(os.environ.get("VIGIL_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Preloading is a submission to the browsers' public list, meaningless for a LAN name.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Content Security Policy (django-csp 4). Scripts only from our own static files or with the
# request's nonce; no eval (htmx runs with allowEval false), no inline styles (every style is a
# class in vigil.css), nothing may frame a page.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Request size. Form posts and API bodies are small: 1 MiB. An uploaded file (the evaluation's
# CSV study files) is limited separately by the form that takes it, to MAX_UPLOAD_BYTES, and is
# kept in memory up to that size so it never lands in a temporary file outside the data dir.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
DATA_UPLOAD_MAX_NUMBER_FILES = 5
MAX_UPLOAD_BYTES = int(os.environ.get("VIGIL_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)))
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES
# A larger upload is spooled to disk before the form refuses it: inside the data dir (same
# permissions and encryption-at-rest story as the database), never the system's /tmp.
FILE_UPLOAD_TEMP_DIR = str(DATA_DIR / "uploads")
os.makedirs(FILE_UPLOAD_TEMP_DIR, mode=0o700, exist_ok=True)
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
FILE_UPLOAD_PERMISSIONS = 0o600

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
SERVESTATIC_USE_FINDERS = True
SERVESTATIC_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("VIGIL_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
