"""Preferential application policies (申报倾斜政策, CF-POL-*): data in the tenant's policies.toml,
one engine rule per kind."""
from __future__ import annotations


def chosen(cfg, app):
    """The PolicyRule the application is made under, or None for the ordinary rules."""
    return cfg.policy(app.policy)


def outside_quota(cfg, app) -> bool:
    """Whether the application is not counted against post numbers and structure ratios."""
    rule = chosen(cfg, app)
    return bool(rule and rule.outside_quota)
