"""Employers that register themselves into the org tree: the tier and supervising department
they choose, and the territorial HR bureau's decision, which may correct district, tier,
department and employer kind first (audited on table "orgs")."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Org, OrgStatus, Role, User
from ..tenancy.schema import OrgKind, Tier
from .actors import Actor
from .errors import Conflict, Forbidden, Invalid
from .orgtree import describe_changes, check_place, check_version, owned_districts, parse_id
from .transitions import audit

REGISTRATION_TIERS = (Tier.county.value, Tier.city.value)


def check_registration_place(cfg, tenant_id: int, data: dict, problems: list):
    """The tier and supervising department a registering employer chose: (tier, parent org or
    None); problems are appended."""
    tier = data.get("tier") or Tier.county.value
    if tier not in REGISTRATION_TIERS:
        problems.append(_l("请选择层级。"))
        return Tier.county.value, None
    if cfg.district(data.get("district") or "") is None:
        return tier, None  # the district's own message is given by the caller
    probe = Org(tenant_id=tenant_id, kind=OrgKind.employer.value)
    parent = check_place(cfg, None, probe, tier, data.get("district"),
                          parse_id(data.get("parent_id")), problems)
    return tier, parent


CORRECTABLE = ("district", "tier", "parent_id", "employer_kind")


def decide_registration(cfg, user: User, org: Org, action: str, corrections: dict,
                        version: int | None, opinion: str = "", ip: str = "") -> bool:
    """Approve or reject a pending registration through the transition service; an approval
    first applies the bureau's corrections, in the same commit. Only the registration's
    territorial bureau may correct it. Returns True when a corrected district belongs to
    another bureau: the corrections are saved and that bureau decides instead."""
    from .transitions import _is_territorial_hr, transition
    actor = Actor.of(user, ip)
    if action == "approve" and corrections:
        if org.tenant_id != user.tenant_id or not _is_territorial_hr(actor, org):
            raise Forbidden(_l("无权进行此操作。"))
        if org.status != OrgStatus.pending.value:
            raise Conflict(_l("该记录已被他人处理，请刷新后查看最新状态。"))
        check_version(org, version)
        try:
            moved = correct_registration(cfg, user, org, corrections, ip)
        except Exception:
            db.session.rollback()
            raise
        if moved:
            org.version = (org.version or 0) + 1
            db.session.commit()
            return True
        version = None if version is None else org.version
    transition(cfg, org, action, actor, expected_version=version, opinion=opinion)
    return False


def correct_registration(cfg, user: User, org: Org, data: dict, ip: str = "") -> bool:
    """Before approving a registration the territorial bureau may correct its district, tier,
    supervising department and employer kind (audited "correct", not committed: the approval
    commits it). Returns True when the district moved to another bureau's territory: the
    registration then waits for that bureau instead (the caller commits without approving)."""
    problems = []
    values = {}
    if data.get("employer_kind"):
        if data["employer_kind"] not in {k.value for k in cfg.tenant.employer_kinds}:
            problems.append(_l("请选择单位性质。"))
        values["employer_kind"] = data["employer_kind"]
    tier = data.get("tier") or org.tier
    if tier not in REGISTRATION_TIERS:
        problems.append(_l("请选择层级。"))
    district = data.get("district") or org.district
    parent = check_place(cfg, None, org, tier, district, parse_id(data.get("parent_id")),
                          problems)
    if problems:
        raise Invalid(_l("单位信息未更正："), problems=problems)
    values.update(tier=tier, district=district, parent_id=parent.id if parent else None)
    reason = describe_changes(org, values)
    if not reason:
        return False
    moved = cfg.district(district).hr_bureau != cfg.district(org.district).hr_bureau \
        if org.district and cfg.district(org.district) else False
    for key, value in values.items():
        setattr(org, key, value)
    db.session.flush()
    audit(Actor.of(user, ip), "orgs", org.id, "correct", reason=reason[:2000])
    return moved


def waiting(user: User, today: date) -> list[dict]:
    """Employer registrations waiting for this HR bureau's decision (one query)."""
    if user.role != Role.hr_officer.value or user.org is None:
        return []
    from ..tenancy import config_for
    cfg = config_for(user.tenant_id)
    mine = sorted(owned_districts(cfg, user.org))
    if not mine:
        return []
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Org).where(
        Org.tenant_id == user.tenant_id, Org.status == OrgStatus.pending.value,
        Org.district.in_(mine)))
    if not count:
        return []
    return [{"label": _l("待审核的单位注册"), "count": count, "due": None,
             "endpoint": "admin.employers", "args": {}}]
