"""The org tree administered in the portal: which units an HR bureau administers, adding,
editing, moving and closing them. Employers registering themselves:
app/workflow/registrations.py.

Every change is checked, written with its audit row (table "orgs") and committed, or nothing is
written. A unit created or changed here is marked `portal_managed`: the tenant files
(tenants/*/orgs.toml, app/tenancy/sync.py) stay the seed of the tree but no longer overwrite it.
"""
from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Application, Org, OrgStatus, Role, User
from ..tenancy.schema import OrgKind, Tier
from .actors import Actor
from .errors import Conflict, Forbidden, Invalid
from .ids import clean_uscc
from .transitions import audit

TIER_RANK = {Tier.county.value: 1, Tier.city.value: 2, Tier.region.value: 3}
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,59}$")
KIND_LABELS = {
    OrgKind.hr_bureau.value: _l("人力资源和社会保障局"), OrgKind.department.value: _l("主管部门"),
    OrgKind.employer.value: _l("用人单位"), OrgKind.association.value: _l("协会/学会"),
    OrgKind.agency.value: _l("评审服务机构"), OrgKind.self_review_unit.value: _l("自主评审单位"),
}
TIER_LABELS = {Tier.region.value: _l("自治区（省）级"), Tier.city.value: _l("市级"),
               Tier.county.value: _l("区（旗县）级")}


class NotFound(Forbidden):
    """Outside the actor's part of the tree: answered like an unknown id."""


def owned_districts(cfg, bureau: Org) -> set[str]:
    """The districts whose territorial HR bureau is `bureau` (tenant.toml districts[].hr_bureau)."""
    return {d.code for d in cfg.tenant.districts if d.hr_bureau == bureau.code}


def _tier_of(org_tier: str | None) -> str:
    return org_tier or Tier.county.value


def scope_clause(cfg, user: User):
    """SQL condition on Org for the units `user` administers, or None for none.

    The tenant admin administers every unit of the tenant. An HR bureau administers what lies
    below it, read from the data:
      * units of a lower tier than the bureau (a city bureau: every county unit of every
        district; a region bureau: the city's and the districts' units),
      * units of its own tier that are not HR bureaus (a city bureau: the city's departments,
        employers, agencies; never itself, a peer or the region bureau above it),
      * and a county bureau only inside the districts whose `hr_bureau` it is in tenant.toml:
        the units of its district, not its neighbours'.
    A unit without a tier counts as a county unit."""
    if user.role == Role.tenant_admin.value:
        return Org.tenant_id == user.tenant_id
    bureau = user.org
    if (user.role != Role.hr_officer.value or bureau is None
            or bureau.kind != OrgKind.hr_bureau.value or not bureau.is_open):
        return None
    rank = TIER_RANK.get(_tier_of(bureau.tier), 1)
    tier = sa.func.coalesce(Org.tier, Tier.county.value)
    below = [t for t, r in TIER_RANK.items() if r < rank]
    clause = sa.and_(Org.tenant_id == user.tenant_id, Org.id != bureau.id, sa.or_(
        tier.in_(below), sa.and_(tier == _tier_of(bureau.tier),
                                 Org.kind != OrgKind.hr_bureau.value)))
    if rank == 1:
        clause = sa.and_(clause, Org.district.in_(sorted(owned_districts(cfg, bureau))))
    return clause


def administers(cfg, user: User, org: Org) -> bool:
    clause = scope_clause(cfg, user)
    if clause is None or org.tenant_id != user.tenant_id:
        return False
    return db.session.scalar(sa.select(sa.func.count()).select_from(Org).where(
        clause, Org.id == org.id)) == 1


def administered(cfg, user: User) -> list[Org]:
    """The units `user` administers, open ones first, by tier, district and name."""
    clause = scope_clause(cfg, user)
    if clause is None:
        return []
    return db.session.scalars(sa.select(Org).where(clause).options(selectinload(Org.parent))
                              .order_by(Org.closed_on.is_not(None), Org.tier, Org.district,
                                        Org.kind, Org.name)).all()


def tiers_for(user: User) -> list[str]:
    """The tiers a unit created or edited by `user` may have."""
    if user.role == Role.tenant_admin.value:
        return [t.value for t in Tier]
    rank = TIER_RANK.get(_tier_of(user.org.tier if user.org else None), 1)
    return [t for t, r in sorted(TIER_RANK.items(), key=lambda x: -x[1]) if r <= rank]


def districts_for(cfg, user: User) -> list:
    """The districts a unit of `user`'s tree may lie in."""
    if user.role == Role.hr_officer.value and _tier_of(user.org.tier) == Tier.county.value:
        mine = owned_districts(cfg, user.org)
        return [d for d in cfg.tenant.districts if d.code in mine]
    return list(cfg.tenant.districts)


def departments(tenant_id: int) -> list[Org]:
    """Open, approved departments of the tenant: the supervising departments one may choose."""
    return db.session.scalars(sa.select(Org).where(
        Org.tenant_id == tenant_id, Org.kind == OrgKind.department.value,
        Org.status == OrgStatus.approved.value, Org.closed_on.is_(None))
        .order_by(Org.tier.desc(), Org.district, Org.name)).all()


# -- checks ---------------------------------------------------------------------------------------

def check_place(cfg, user: User | None, org: Org, tier: str | None, district: str | None,
                 parent_id: int | None, problems: list) -> Org | None:
    """Tier, district and supervising department of `org` as proposed; problems are appended.
    Returns the parent (or None)."""
    if tier not in TIER_RANK:
        problems.append(_l("请选择层级。"))
    elif user is not None and tier not in tiers_for(user):
        problems.append(_l("您不能设立或调整该层级的机构。"))
    if district:
        if cfg.district(district) is None:
            problems.append(_l("未知的区（旗县）：%(d)s。", d=district))
        elif user is not None and district not in {d.code for d in districts_for(cfg, user)}:
            problems.append(_l("该区（旗县）不在您的管理范围内。"))
    elif tier == Tier.county.value:
        problems.append(_l("区（旗县）级机构须选择所在区（旗县）。"))
    if not parent_id:
        return None
    parent = db.session.get(Org, parent_id)
    if parent is None or parent.tenant_id != org.tenant_id:
        problems.append(_l("上级主管部门不存在。"))
        return None
    if parent.id == org.parent_id and parent.kind != OrgKind.department.value:
        return parent  # the tree's own link (a department under its HR bureau) may stay
    if parent.kind != OrgKind.department.value or parent.status != OrgStatus.approved.value:
        problems.append(_l("上级主管部门必须是本地区的主管部门。"))
        return None
    if not parent.is_open:
        problems.append(_l("所选主管部门已撤销。"))
        return None
    if (parent.tier == Tier.county.value and district and parent.district != district):
        problems.append(_l("区（旗县）级主管部门只能主管本区（旗县）的单位。"))
    seen, node = set(), parent
    while node is not None and node.id not in seen:  # walk up: the unit must not be above itself
        if org.id is not None and node.id == org.id:
            problems.append(_l("不能把机构调到它自己的下级之下（会形成循环）。"))
            break
        seen.add(node.id)
        node = node.parent
    return parent


def _check_fields(cfg, org: Org, data: dict, problems: list) -> dict:
    """Clean name, kind-specific fields and USCC; returns the values to write."""
    values = {"name": (data.get("name") or "").strip(),
              "name_en": (data.get("name_en") or "").strip()}
    if not values["name"]:
        problems.append(_l("请填写机构名称。"))
    elif len(values["name"]) > 200 or len(values["name_en"]) > 200:
        problems.append(_l("机构名称最多200字。"))
    raw_uscc = (data.get("uscc") or "").strip()
    if raw_uscc:
        code = clean_uscc(raw_uscc)
        if code is None:
            problems.append(_l("统一社会信用代码无效（校验位不符，请核对）。"))
        elif db.session.scalar(sa.select(Org.id).where(
                Org.tenant_id == org.tenant_id, Org.uscc == code,
                Org.id != (org.id or 0))):
            problems.append(_l("该统一社会信用代码已被其他机构使用。"))
        values["uscc"] = code
    else:
        values["uscc"] = None
    kinds = {k.value for k in cfg.tenant.employer_kinds}
    if org.kind in (OrgKind.employer.value, OrgKind.self_review_unit.value):
        kind = data.get("employer_kind") or None
        if kind is not None and kind not in kinds:
            problems.append(_l("请选择单位性质。"))
        if org.kind == OrgKind.employer.value and kind is None:
            problems.append(_l("请选择单位性质。"))
        values["employer_kind"] = kind
    series = [s for s in (data.get("series") or []) if s]
    unknown = [s for s in series if cfg.series(s) is None]
    if unknown:
        problems.append(_l("未知的系列：%(s)s。", s="、".join(unknown)))
    values["series"] = sorted(set(series)) if org.kind == OrgKind.department.value else list(
        org.series or [])
    return values


def _may_change(cfg, user: User, org: Org) -> None:
    if not administers(cfg, user, org):
        raise NotFound(_l("没有找到该机构。"))


def describe_changes(org: Org, values: dict) -> str:
    """'field: old → new; …' for the audit row."""
    parts = []
    for key, new in values.items():
        old = getattr(org, key)
        if old != new:
            parts.append(f"{key}: {old if old not in (None, '') else '-'} → "
                         f"{new if new not in (None, '') else '-'}")
    return "; ".join(parts)


def check_version(org: Org, version: int | None) -> None:
    if version is not None and version != org.version:
        raise Conflict(_l("该机构已被他人修改，请刷新后再试。"))


def _write(actor: Actor, org: Org, values: dict, action: str) -> None:
    reason = describe_changes(org, values)
    for key, value in values.items():
        setattr(org, key, value)
    org.portal_managed = True
    org.version = (org.version or 0) + 1
    db.session.flush()
    audit(actor, "orgs", org.id, action, reason=reason[:2000])


def _commit_or_rollback(fn):
    def wrapped(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except Exception:
            db.session.rollback()
            raise
    wrapped.__doc__, wrapped.__name__ = fn.__doc__, fn.__name__
    return wrapped


# -- changes --------------------------------------------------------------------------------------

@_commit_or_rollback
def create_unit(cfg, user: User, data: dict, ip: str = "") -> Org:
    """A new unit in `user`'s part of the tree (audited "create"), or Invalid naming every
    problem and saving nothing."""
    problems = []
    kind = data.get("kind")
    if kind not in KIND_LABELS:
        problems.append(_l("请选择机构类别。"))
    elif kind == OrgKind.hr_bureau.value and user.role != Role.tenant_admin.value:
        problems.append(_l("人力资源和社会保障局只能由系统管理员设立。"))
    code = (data.get("code") or "").strip().lower()
    if not CODE.match(code):
        problems.append(_l("机构代码须为2至60位小写字母、数字或连字符。"))
    elif db.session.scalar(sa.select(Org.id).filter_by(tenant_id=user.tenant_id, code=code)):
        problems.append(_l("机构代码%(c)s已被使用。", c=code))
    org = Org(tenant_id=user.tenant_id, code=code, kind=kind or "", series=[])
    values = _check_fields(cfg, org, data, problems)
    district = data.get("district") or None
    parent = check_place(cfg, user, org, data.get("tier"), district,
                          parse_id(data.get("parent_id")), problems)
    if problems:
        raise Invalid(_l("机构未保存："), problems=problems)
    org.name = values.pop("name")
    org.status = OrgStatus.approved.value
    org.portal_managed = True
    db.session.add(org)
    values.update(tier=data["tier"], district=district, parent_id=parent.id if parent else None)
    for key, value in values.items():
        setattr(org, key, value)
    db.session.flush()
    audit(Actor.of(user, ip), "orgs", org.id, "create", to_state=org.status,
          reason=f"{org.code} {org.kind} {org.tier} {org.district or '-'}")
    return org


@_commit_or_rollback
def edit_unit(cfg, user: User, org: Org, data: dict, version: int | None = None,
              ip: str = "") -> None:
    """Change a unit's name, tier, kind-specific fields and USCC (audited "edit")."""
    _may_change(cfg, user, org)
    check_version(org, version)
    problems = []
    values = _check_fields(cfg, org, data, problems)
    tier = data.get("tier") or org.tier
    check_place(cfg, user, org, tier, org.district, None, problems)
    if problems:
        raise Invalid(_l("机构未保存："), problems=problems)
    values["tier"] = tier
    _write(Actor.of(user, ip), org, values, "edit")


@_commit_or_rollback
def move_unit(cfg, user: User, org: Org, district: str | None, parent_id: int | None,
              version: int | None = None, ip: str = "") -> None:
    """Put a unit in another district or under another supervising department (audited "move").
    Files already submitted keep the route computed at their submission; files submitted from
    now on are routed by the new place."""
    _may_change(cfg, user, org)
    check_version(org, version)
    problems = []
    district = district or None
    parent = check_place(cfg, user, org, org.tier, district, parent_id, problems)
    if problems:
        raise Invalid(_l("机构未调整："), problems=problems)
    _write(Actor.of(user, ip), org, {"district": district,
                                     "parent_id": parent.id if parent else None}, "move")


@_commit_or_rollback
def close_unit(cfg, user: User, org: Org, reason: str, version: int | None = None,
               ip: str = "", today: date | None = None) -> int:
    """Close a unit (audited "close"); returns how many staff accounts were disabled.

    A closed unit is offered nowhere new (registration, supervising departments, routing) and
    its staff accounts are disabled with their sessions ended. A unit that still holds files is
    not closed: they are handled (recommended, returned) first, so no file is left with a holder
    nobody can act for; files it handled before stay as they are, with its name in their
    history. A unit with open units under it, or a district's HR bureau, is not closed either."""
    from .calendar import today_local
    _may_change(cfg, user, org)
    check_version(org, version)
    if not org.is_open:
        raise Conflict(_l("该机构已撤销。"))
    reason = (reason or "").strip()
    problems = []
    if not reason:
        problems.append(_l("请填写撤销理由。"))
    held = db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(
        Application.tenant_id == org.tenant_id, Application.holder_org_id == org.id))
    if held:
        problems.append(_l("该机构还有%(n)d份待办申报，办理完毕后才能撤销。", n=held))
    children = db.session.scalar(sa.select(sa.func.count()).select_from(Org).where(
        Org.parent_id == org.id, Org.closed_on.is_(None)))
    if children:
        problems.append(_l("该机构下还有%(n)d个未撤销的机构，请先调整或撤销。", n=children))
    if any(d.hr_bureau == org.code for d in cfg.tenant.districts):
        problems.append(_l("该机构是区（旗县）的属地人社部门，不能撤销。"))
    if problems:
        raise Invalid(_l("机构未撤销："), problems=problems)
    actor = Actor.of(user, ip)
    org.closed_on = today or today_local()
    org.portal_managed = True
    org.version = (org.version or 0) + 1
    staff = db.session.execute(
        sa.update(User).where(User.tenant_id == org.tenant_id, User.org_id == org.id,
                              User.role != Role.applicant.value, User.active.is_(True))
        .values(active=False, setup_token_hash=None, setup_expires_at=None,
                session_epoch=User.session_epoch + 1)
        .execution_options(synchronize_session=False)).rowcount
    audit(actor, "orgs", org.id, "close", reason=reason[:2000], from_state="open",
          to_state="closed")
    return staff


def department_label(org: Org) -> str:
    from ..tenancy import config_for, label
    district = config_for(org.tenant_id).district(org.district) if org.district else None
    return f"{label(org)}（{label(district)}）" if district else label(org)


def fill_place_choices(form, cfg, tenant_id: int, tiers, current: Org | None = None,
                       depts: list[Org] | None = None) -> None:
    """Tier and supervising-department choices of a form (tenant's tree, open departments:
    `depts` when the caller has them already); a unit's current non-department parent stays
    offered so that editing keeps it."""
    if hasattr(form, "tier"):
        form.tier.choices = [(t, TIER_LABELS[t]) for t in tiers]
    if hasattr(form, "parent_id"):
        choices = [("", _l("（无主管部门）"))] + [
            (str(o.id), department_label(o)) for o in (
                departments(tenant_id) if depts is None else depts)]
        if current is not None and current.parent is not None and not any(
                c[0] == str(current.parent_id) for c in choices):
            choices.append((str(current.parent_id), department_label(current.parent)))
        form.parent_id.choices = choices


def parse_id(value) -> int | None:
    try:
        return int(value) if value not in (None, "", "0") else None
    except (TypeError, ValueError):
        return None
