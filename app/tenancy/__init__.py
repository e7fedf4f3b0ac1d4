"""Tenants: loaded from tenants/<slug>/ at start-up; resolved from the URL once per request."""
from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa
from flask import Flask, abort, current_app, g
from flask_babel import get_locale

from ..extensions import db
from .loader import TenantConfig, TenantConfigError, load_tenant, load_tenants

__all__ = ["TenantConfig", "TenantConfigError", "config_for", "init_app", "label", "load_tenant",
           "load_tenants", "tenant_scope", "tenants"]


def init_app(app: Flask) -> None:
    app.extensions["tenants"] = load_tenants(app.config["TENANTS_DIR"])
    app.extensions["tenant_ids"] = {}

    @app.url_value_preprocessor
    def _pull_tenant(endpoint, values):
        if values and "tenant" in values:
            slug = values.pop("tenant")
            cfg = app.extensions["tenants"].get(slug)
            tenant_id = _tenant_id(slug) if cfg else None
            if tenant_id is None:
                abort(404)
            g.tenant, g.tenant_id = cfg, tenant_id

    @app.url_defaults
    def _push_tenant(endpoint, values):
        if "tenant" not in values and "tenant" in g and app.url_map.is_endpoint_expecting(
                endpoint, "tenant"):
            values["tenant"] = g.tenant.slug


def tenants() -> dict[str, TenantConfig]:
    return current_app.extensions["tenants"]


def _tenant_id(slug: str) -> int | None:
    cache = current_app.extensions["tenant_ids"]
    if slug not in cache:
        from ..models import Tenant

        found = db.session.scalar(sa.select(Tenant.id).filter_by(slug=slug))
        if found is None:
            return None  # not loaded into the database yet: do not cache the miss
        cache[slug] = found
    return cache[slug]


def config_for(tenant_id: int) -> TenantConfig:
    """The configuration of a tenant known by its database id."""
    from ..models import Tenant

    slug = next((s for s, i in current_app.extensions["tenant_ids"].items() if i == tenant_id),
                None) or db.session.scalar(sa.select(Tenant.slug).filter_by(id=tenant_id))
    return tenants()[slug]


@contextmanager
def tenant_scope(slug: str):
    """Bind a tenant for work outside a request (jobs, CLI): sets g.tenant and g.tenant_id."""
    cfg = tenants().get(slug)
    tenant_id = _tenant_id(slug) if cfg else None
    if tenant_id is None:
        raise LookupError(f"unknown or unloaded tenant {slug!r}")
    saved = (g.get("tenant"), g.get("tenant_id"))
    g.tenant, g.tenant_id = cfg, tenant_id
    try:
        yield cfg
    finally:
        g.tenant, g.tenant_id = saved


def label(item) -> str:
    """A tenant-file item's name in the current language (name / name_en)."""
    return labeller()(item)


def labeller():
    """label() with the current language looked up once, for a loop over many items."""
    loc = get_locale()
    english = loc is not None and loc.language == "en"

    def name(item) -> str:
        if item is None:
            return ""
        return getattr(item, "name_en", "") if english and getattr(item, "name_en", "") \
            else item.name
    return name
