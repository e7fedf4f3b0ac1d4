"""Who may use which page: the predicates the routes guard their pages with, shared by the
navigation and the home page, so a link or a button is shown exactly when its route would serve
the user. Each takes the signed-in user (a User) and, where the answer depends on the tenant's
settings, the tenant's config."""
from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import Org, Plan, Role
from ..tenancy.schema import OrgKind, Tier
from .actors import Actor

# Offices that hold files on a route (the office pages).
OFFICE_ROLES = frozenset({Role.employer_clerk.value, Role.department_clerk.value,
                          Role.hr_officer.value, Role.agency_clerk.value,
                          Role.association_clerk.value})
# Staff who handle objections routed to their office.
STAFF_ROLES = frozenset({Role.agency_clerk.value, Role.employer_clerk.value,
                         Role.hr_officer.value, Role.department_clerk.value,
                         Role.tenant_admin.value})
# Staff who see the job console and the plans' windows.
CONSOLE_ROLES = frozenset({Role.hr_officer.value, Role.tenant_admin.value})


def _role(user) -> str | None:
    return getattr(user, "role", None) if getattr(user, "is_authenticated", False) else None


def is_office(user) -> bool:
    return _role(user) in OFFICE_ROLES


def city_hr_id(tenant_id: int) -> int | None:
    """The tenant's city HR bureau, which accepts (or confirms) reported results."""
    return db.session.scalar(sa.select(Org.id).filter_by(
        tenant_id=tenant_id, kind=OrgKind.hr_bureau.value, tier=Tier.city.value).order_by(Org.id))


def at_city_hr(role: str | None, org_id: int | None, tenant_id: int) -> bool:
    """An officer of the city HR bureau, or the tenant's administrator working for it: who
    accepts (验收) or confirms reported results. The transition service's check too."""
    return (role in CONSOLE_ROLES and org_id is not None
            and org_id == city_hr_id(tenant_id))


def may_accept_results(user) -> bool:
    """Results acceptance: the city HR bureau. A district or county bureau may not."""
    return _role(user) is not None and at_city_hr(user.role, user.org_id, user.tenant_id)


def territorial_districts(cfg, user) -> list[str]:
    """The districts whose employers this HR bureau approves."""
    if _role(user) != Role.hr_officer.value or user.org is None:
        return []
    return [d.code for d in cfg.tenant.districts if d.hr_bureau == user.org.code]


def may_approve_employers(cfg, user) -> bool:
    return bool(territorial_districts(cfg, user))


def may_see_console(user) -> bool:
    return _role(user) in CONSOLE_ROLES


def may_retry_jobs(user) -> bool:
    return _role(user) == Role.tenant_admin.value


def may_handle_objections(user) -> bool:
    return _role(user) in STAFF_ROLES


def may_verify_staff(cfg, user) -> bool:
    """Profiles verified by the unit (CF-REG-1): the unit's or association's clerk, where the
    tenant asks for it."""
    from .profiles import VERIFIER_ROLES
    return _role(user) in VERIFIER_ROLES and bool(cfg.policies.profile_verification)


def may_see_posts(cfg, user) -> bool:
    """Posts (CF-POL-9): a unit held to its posts keeps them; the offices above see them."""
    from . import quotas
    if not cfg.policies.post_structure_kinds:
        return False
    if _role(user) in quotas.OVERSIGHT_ROLES:
        return True
    return quotas.own_unit(cfg, Actor.of(user)) is not None


def may_see_quotas(cfg, user) -> bool:
    from . import quotas
    return bool(cfg.policies.review_quota) and _role(user) in quotas.OVERSIGHT_ROLES


def may_issue_certificates(user) -> bool:
    from .certificates import may_revoke
    return _role(user) is not None and may_revoke(Actor.of(user))


def uses_paper(tenant_id: int) -> bool:
    """Whether any plan of the tenant reviews files on paper (offices then record receipts).
    Asked once per request (a page's navigation and its batch bar both ask)."""
    from flask import g, has_request_context

    from .paper import PAPER_MODES
    memo = g.setdefault("uses_paper", {}) if has_request_context() else {}
    if tenant_id not in memo:
        rows = db.session.execute(sa.select(Plan.review_mode, Plan.mode_rules)
                                  .filter_by(tenant_id=tenant_id)).all()
        memo[tenant_id] = any(mode in PAPER_MODES or any(r.get("review_mode") in PAPER_MODES
                                                         for r in rules or ())
                              for mode, rules in rows)
    return memo[tenant_id]


OFFICE_ACTIONS = ("start_notice", "recommend", "return", "not_recommend")


def office_actions(user, app) -> set[str]:
    """The office review actions the transition service would let `user` take on `app` now
    (its state and the user's role and office; the window is checked when acting)."""
    from .transitions import APPLICATION_RULES
    if _role(user) is None:
        return set()
    actor = Actor.of(user)
    return {a for a in OFFICE_ACTIONS if app.status in APPLICATION_RULES[a].sources
            and APPLICATION_RULES[a].permits(actor, app)}


def may_act_on(user, app) -> bool:
    return bool(office_actions(user, app))
