"""Configuration read from the environment (a .env file is honoured by wsgi.py and the CLI)."""
import base64
import os
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Config:
    # No secret has a default: create_app refuses to start without them (check_secrets).
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'zhicheng.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6390/0")
    RQ_QUEUE = os.environ.get("RQ_QUEUE", "zhicheng")
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(ROOT / "instance" / "uploads"))
    # The file store (app/uploads/storage.py): empty for the directory UPLOAD_DIR, or
    # s3://bucket/prefix for an S3-compatible store at S3_ENDPOINT_URL (its credentials from
    # AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY); UPLOAD_DIR is then the host's scratch space.
    FILE_STORE_URL = os.environ.get("FILE_STORE_URL", "")
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL") or None
    S3_REGION = os.environ.get("S3_REGION", "us-east-1")
    TENANTS_DIR = os.environ.get("TENANTS_DIR", str(ROOT / "tenants"))
    # Personal data (ID numbers, mobiles, notice recipients) at rest: a key ring separate from
    # SECRET_KEY, from DATA_KEYS / DATA_HASH_KEY or the key-ring file (app/workflow/crypto.py).
    DATA_KEYS = os.environ.get("DATA_KEYS", "")
    DATA_HASH_KEY = os.environ.get("DATA_HASH_KEY", "")
    KEYRING_FILE = os.environ.get("KEYRING_FILE", str(ROOT / "instance" / "keyring.json"))
    CRYPTO_SUITE = os.environ.get("CRYPTO_SUITE", "standard")  # or "national": SM4-GCM, HMAC-SM3

    # One scan at most (a checklist material may set less); the plain form's request limit.
    MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_MB", "10")) * 1024 * 1024
    # What one applicant may keep stored over all their applications, partial uploads included.
    UPLOAD_QUOTA_BYTES = int(os.environ.get("UPLOAD_QUOTA_MB", "100")) * 1024 * 1024
    # Resumable uploads (app/uploads/resumable.py) untouched this long are removed by a job.
    PARTIAL_UPLOAD_HOURS = int(os.environ.get("PARTIAL_UPLOAD_HOURS", "24"))
    MAX_CONTENT_LENGTH = MAX_UPLOAD_BYTES + 64 * 1024
    # Scans are refused above this many pixels, read from the header before any decoding.
    MAX_IMAGE_PIXELS = int(os.environ.get("MAX_IMAGE_MEGAPIXELS", "40")) * 1_000_000
    # Review recordings are large; only their upload route raises the request limit.
    MAX_RECORDING_BYTES = int(os.environ.get("MAX_RECORDING_MB", "2048")) * 1024 * 1024
    # How long the clerk who did a batch action on a selection may undo it (app/workflow/batch.py).
    BATCH_UNDO_MINUTES = int(os.environ.get("BATCH_UNDO_MINUTES", "10"))
    # Sign-in throttling (app/workflow/throttle.py), per account name and source address: after
    # the free failures, growing waits (1, 2, 4 … s, capped); never a lock of the account.
    LOGIN_FREE_FAILURES = 3
    LOGIN_DELAY_MAX_SECONDS = 300
    LOGIN_FAILURE_MEMORY_SECONDS = 3600  # failures older than this are forgotten
    LOGIN_SOURCE_FAILURES_PER_HOUR = 100  # one source, every account name together
    # Per source address (Flask-Limiter): applicant and employer registration, objections.
    REGISTRATION_LIMIT = "10/hour"
    OBJECTION_LIMIT = "10/hour"
    PASSWORD_CHANGE_LIMIT = "10/hour"  # per signed-in user: guessing the current password
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=30)  # idle expiry
    # A section posted after the session ran out is kept this long for its user to sign in
    # again and find the text restored (app/unsaved.py); at most this many per source address.
    UNSAVED_FORM_MINUTES = int(os.environ.get("UNSAVED_FORM_MINUTES", "120"))
    UNSAVED_FORM_LIMIT = "30/hour"
    # A session ends this long after sign-in however active it was.
    SESSION_ABSOLUTE_LIFETIME = timedelta(hours=int(os.environ.get("SESSION_ABSOLUTE_HOURS", "12")))
    # The idle timeout counts from when the cookie was last signed; it is signed again when the
    # session changes and at most once a SESSION_RESIGN_SECONDS otherwise (app/web.py).
    SESSION_REFRESH_EACH_REQUEST = False
    SESSION_RESIGN_SECONDS = 60
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    # Reverse proxies in front of the app whose X-Forwarded-For / -Proto are believed (nginx
    # alone: 1). 0: the socket's address, whatever headers the client sends.
    TRUSTED_PROXY_HOPS = int(os.environ.get("TRUSTED_PROXY_HOPS", "0"))
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)

    WTF_CSRF_TIME_LIMIT = None  # the session lifetime already bounds the token
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "app" / "translations")
    LANGUAGES = ("zh_Hans_CN", "en")

    SEND_FILE_MAX_AGE_DEFAULT = 365 * 24 * 3600  # static URLs carry a content hash
    COMPRESS_MIMETYPES = ["text/html", "text/css", "application/javascript", "text/javascript"]
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_MIN_SIZE = 256
    # Office lists drawn once are shown again from the web worker's memory until anything in
    # the database changes (app/pagecache.py): at most this many MB per worker, this old.
    # PAGE_CACHE_MB=0 draws every page.
    PAGE_CACHE_MB = int(os.environ.get("PAGE_CACHE_MB", "32"))
    PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "120"))
    # Each web worker follows the write counters through a Redis subscription (no round trip
    # per request); off, every request reads them from Redis.
    PAGE_CACHE_FOLLOW = os.environ.get("PAGE_CACHE_FOLLOW", "1") == "1"
    # Run jobs (deadlines, notice delivery) in-process instead of on the queue (tests, or
    # development without Redis).
    JOBS_INLINE = os.environ.get("JOBS_INLINE", "0") == "1"

    # Notifications: the outbox is sent by RQ jobs through a gateway per channel: "dev" (log
    # only), "http" (SMS, JSON POST), "smtp" (e-mail), or "module:callable" (app/notify).
    SMS_GATEWAY = os.environ.get("SMS_GATEWAY") or (
        "http" if os.environ.get("SMS_GATEWAY_URL") else "dev")
    SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
    SMS_GATEWAY_TOKEN = os.environ.get("SMS_GATEWAY_TOKEN", "")
    EMAIL_GATEWAY = os.environ.get("EMAIL_GATEWAY") or (
        "smtp" if os.environ.get("SMTP_URL") else "dev")
    SMTP_URL = os.environ.get("SMTP_URL", "")  # smtp://user:pass@host:587 or smtps://…:465
    MAIL_FROM = os.environ.get("MAIL_FROM", "noreply@localhost")
    NOTIFY_TIMEOUT_SECONDS = 10
    # The deployment's public address (an absolute http(s) URL, no tenant): every link the
    # product prints or encodes outside a request (certificate QR codes, result letters) uses
    # it. No default: outside tests the app refuses to start without it; make run sets it from
    # HOST and PORT.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").strip()
    # How long the one-time link of a staff invitation or account reset works.
    INVITE_LINK_HOURS = int(os.environ.get("INVITE_LINK_HOURS", "72"))
    # Certificate queries by number and name, per client IP (BJ23-VERIFY-1); counted in Redis so
    # every worker shares one count.
    VERIFY_QUERIES_PER_MINUTE = int(os.environ.get("VERIFY_QUERIES_PER_MINUTE", "10"))
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", REDIS_URL)
    RATELIMIT_HEADERS_ENABLED = True
    # Redis down: count in memory rather than refuse every query.
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # Fees (BJ-FEE-1): the gateway's payment page and the key its notifications are signed with.
    # Without a gateway URL a local simulator stands in for the gateway (development only).
    PAYMENT_GATEWAY_URL = os.environ.get("PAYMENT_GATEWAY_URL", "")
    PAYMENT_GATEWAY_SECRET = os.environ.get("PAYMENT_GATEWAY_SECRET", "")
    # The audit trail: the key its chain hashes are made with, the Ed25519 key (32 bytes,
    # base64) exports for the regulator are signed with, and how long rows are kept (at least
    # six months, 网络安全法 第二十一条; nothing in the app deletes audit rows).
    AUDIT_KEY = os.environ.get("AUDIT_KEY")
    AUDIT_SIGNING_KEY = os.environ.get("AUDIT_SIGNING_KEY")
    AUDIT_RETENTION_DAYS = int(os.environ.get("AUDIT_RETENTION_DAYS", "365"))


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    PAYMENT_GATEWAY_SECRET = "dev-only-payment-secret"
    DATA_KEYS = "t1:dGVzdC1kYXRhLWtleS1ub3QtZm9yLXByb2R1Y3Rpb24="
    DATA_HASH_KEY = "dGVzdC1oYXNoLWtleS1ub3QtZm9yLXByb2R1Y3Rpb24="
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = False
    JOBS_INLINE = True
    SMS_GATEWAY = EMAIL_GATEWAY = "dev"  # never a real provider from the environment
    ARGON2_PARAMS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
    RATELIMIT_STORAGE_URI = "memory://"
    AUDIT_KEY = "test-audit-key"
    AUDIT_SIGNING_KEY = "dGVzdC1zaWduaW5nLWtleS0wMTIzNDU2Nzg5YWJjZGU="  # 32 bytes, tests only
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"


# Refused outside tests: the old built-in defaults, the test configuration's, and placeholders.
KNOWN_DEFAULT_SECRETS = frozenset({
    "dev-only-change-me", "dev-only-payment-secret", "test-secret", "secret", "changeme",
    "change-me", "change-this", "secret-key", "your-secret-key", "development", "dev",
    "test-audit-key", TestConfig.AUDIT_SIGNING_KEY})
MIN_SECRET_LENGTH = 16
REQUIRED_SECRETS = ("SECRET_KEY", "PAYMENT_GATEWAY_SECRET", "AUDIT_KEY", "AUDIT_SIGNING_KEY")


class ConfigError(RuntimeError):
    """A setting the app cannot start without is missing or unsafe; the message names it."""


def check_secrets(config) -> None:
    """Refuse to start, outside tests, on a secret that is unset, a known default or too short,
    and on a missing or malformed personal-data key ring."""
    if config.get("TESTING"):
        return
    for name in REQUIRED_SECRETS:
        value = (config.get(name) or "").strip()
        if not value:
            raise ConfigError(f"{name} is not set: set a long random value "
                              "(make run keeps one in instance/secrets.env)")
        if {value, value.lower()} & KNOWN_DEFAULT_SECRETS or len(value) < MIN_SECRET_LENGTH:
            raise ConfigError(f"{name} is a known default or shorter than {MIN_SECRET_LENGTH} "
                              "characters: set a long random value")
    try:
        if len(base64.b64decode(config["AUDIT_SIGNING_KEY"], validate=True)) != 32:
            raise ValueError
    except ValueError:
        raise ConfigError("AUDIT_SIGNING_KEY must be 32 random bytes in base64 (an Ed25519 "
                          "private key; make run keeps one in instance/secrets.env)") from None
    from .workflow.crypto import KeyRingError, load
    try:
        load(config)
    except KeyRingError as e:
        raise ConfigError(str(e)) from None
    check_public_address(config.get("PUBLIC_BASE_URL") or "")


def check_public_address(value: str) -> None:
    """The public address must be an absolute http(s) URL with a host and nothing after the
    path: it goes into QR codes that outlive the deployment's internal names."""
    from urllib.parse import urlsplit
    if not value:
        raise ConfigError("PUBLIC_BASE_URL is not set: set the address citizens reach the portal "
                          "at, e.g. https://zc.hrss.example.gov.cn (make run sets it from HOST "
                          "and PORT)")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"PUBLIC_BASE_URL {value!r} is not an absolute http(s) address "
                          "without user, query or fragment")
