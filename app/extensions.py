"""Flask extensions, declared unbound; create_app binds them with init_app."""
from flask_babel import Babel
from flask_compress import Compress
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()
login = LoginManager()
csrf = CSRFProtect()
htmx = HTMX()
babel = Babel()
compress = Compress()


def _client_ip() -> str:
    from .web import client_ip  # web imports this module
    return client_ip()


# Routes opt in with @limiter.limit; counts live in RATELIMIT_STORAGE_URI (Redis in production).
limiter = Limiter(key_func=_client_ip)
