"""Application factory."""
from __future__ import annotations

import inspect
import weakref

from flask import Flask

from .config import ROOT, Config, check_secrets


class Portal(Flask):
    """Flask, asking once per function whether it is a coroutine: Flask asks for every hook
    and view of every request (a dozen), and `inspect` unwraps the function each time. The
    answers are held weakly: a callback made for one request is not kept alive by them."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._coroutines: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def ensure_sync(self, func):
        try:
            coroutine = self._coroutines.get(func)
            if coroutine is None:
                coroutine = self._coroutines[func] = inspect.iscoroutinefunction(func)
        except TypeError:  # a callable that cannot be hashed or weakly referenced
            return super().ensure_sync(func)
        return self.async_to_sync(func) if coroutine else func


def create_app(overrides: dict | None = None, config: type = Config) -> Flask:
    """Build the app: bind extensions, load tenants, register blueprints. No I/O beyond reading
    the tenant files; migrations and seeding run from the CLI."""
    app = Portal(__name__, template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"), instance_path=str(ROOT / "instance"))
    app.config.from_object(config)
    app.config.update(overrides or {})
    check_secrets(app.config)  # every entry point: gunicorn, flask CLI, RQ workers
    if hops := app.config["TRUSTED_PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    from . import static_files, tenancy, web, web_security
    from .extensions import babel, compress, csrf, db, htmx, limiter, login, migrate

    db.init_app(app)
    from .workflow import audit
    audit.check_retention(app.config["AUDIT_RETENTION_DAYS"])
    audit.install()
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    login.init_app(app)
    web.allow_large_uploads(app)  # before CSRF, which reads the request body
    csrf.init_app(app)
    htmx.init_app(app)
    babel.init_app(app, locale_selector=web.select_locale, timezone_selector=lambda: "Asia/Shanghai")
    from . import pagecache
    app.config.setdefault("COMPRESS_CACHE_BACKEND", pagecache.CompressedCopies)
    app.config.setdefault("COMPRESS_CACHE_KEY", pagecache.compressed_key)
    compress.init_app(app)
    limiter.init_app(app)
    tenancy.init_app(app)
    web.init_app(app)
    web_security.init_app(app)
    static_files.init_app(app)  # compressed for gzip-only clients too
    with app.app_context():
        pagecache.init_app(app, db.engines)

    from .admin import bp as admin_bp
    from .agencies import bp as agencies_bp
    from .agency import bp as agency_bp
    from .applicant import bp as applicant_bp
    from .auth import bp as auth_bp
    from .expert import bp as expert_bp
    from .office import bp as office_bp
    from .public import bp as public_bp

    from .certify import bp as certify_bp
    from .defense import bp as defense_bp
    from .paper import bp as paper_bp
    from .payments import bp as payments_bp
    from .pool import bp as pool_bp
    from .results import bp as results_bp
    from .complaints import bp as complaints_bp
    from .oversight import bp as oversight_bp
    from .staff import bp as staff_bp
    from .selfreview import bp as selfreview_bp

    for bp in (public_bp, auth_bp, applicant_bp, office_bp, admin_bp, agency_bp, expert_bp,
               payments_bp, defense_bp, results_bp, certify_bp, paper_bp, pool_bp,
               agencies_bp, complaints_bp, oversight_bp, staff_bp, selfreview_bp):
        app.register_blueprint(bp)

    from .home import bp as home_bp  # a signed-in user's home page

    app.register_blueprint(home_bp)

    from .cli import register as register_cli

    register_cli(app)
    return app
