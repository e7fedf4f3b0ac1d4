"""Post numbers (CF-POL-9) and capped review quotas (CF-POL-8).

Posts: a unit of a kind the tenant names (policies.toml `post_structure_kinds`) declares, per
level and year, its posts (岗位数) and how many are held now (现聘人数). Its clerk recommends no
more files at a level than posts − holders, not counting files made under a policy outside post
quotas; the offices above the unit see what it declared.

Review quotas (`review_quota`): the files of one year, series and level that enter the review
are capped. The office that shares a quota out gives places to districts or units, never more
than the total, and a file enters the review only within the places of its unit (or of an office
above the unit, or of its county). The guard sits where a file enters the review, when it is
sent to the committee's agency: whatever the route, no file reaches a committee past its share.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Application, Org, Plan, Role, Status
from ..models.quotas import QuotaAllocation, UnitPosts
from ..tenancy import label
from ..tenancy.schema import OrgKind, StepKind, Tier
from . import transitions
from .actors import Actor
from .calendar import now_local
from .errors import Forbidden, Invalid
from .policies import outside_quota

# Files that do not use a post or a place: never sent on, sent back, declined, given up or
# disqualified for false material.
WITHDRAWN = (Status.draft.value, Status.returned.value, Status.not_recommended.value,
             Status.abandoned.value, Status.disqualified.value)
# Files the committee's agency has received: in the review or through it.
IN_REVIEW = (Status.recommended.value, Status.checked.value, Status.paid.value,
             Status.in_review.value, Status.passed.value, Status.failed.value,
             Status.annulled.value, Status.certified.value)
MAX_COUNT = 99_999  # posts, holders or places: far above any unit's, so a stray digit is caught
# The role that acts for an office of each kind.
OFFICE_ROLE = {OrgKind.department.value: Role.department_clerk.value,
               OrgKind.hr_bureau.value: Role.hr_officer.value}
OVERSIGHT_ROLES = tuple(OFFICE_ROLE.values())


def _record_level(cfg, level: str) -> str:
    """A level's name as kept in records (the default language)."""
    found = cfg.level(level)
    return found.name if found else level


# -- who sits above whom -------------------------------------------------------------------------

class _Tree:
    """Every office and unit of a tenant, read once as plain rows."""

    def __init__(self, cfg, tenant_id: int):
        rows = db.session.execute(sa.select(
            Org.id, Org.code, Org.name, Org.name_en, Org.kind, Org.tier, Org.district,
            Org.parent_id).where(Org.tenant_id == tenant_id).order_by(Org.id)).all()
        self.cfg, self.tenant_id = cfg, tenant_id
        self.rows = {r.id: r for r in rows}
        self.by_code = {r.code: r.id for r in rows}
        self.city_hr = next((r.id for r in rows if r.kind == OrgKind.hr_bureau.value
                             and r.tier == Tier.city.value), None)

    def chain(self, org_id: int | None) -> list[int]:
        """The org and every org above it, nearest first."""
        out = []
        while org_id is not None and org_id in self.rows and org_id not in out:
            out.append(org_id)
            org_id = self.rows[org_id].parent_id
        return out

    def is_county(self, org_id: int) -> bool:
        row = self.rows.get(org_id)
        return row is not None and row.tier == Tier.county.value and bool(row.district)

    def territorial_hr(self, org_id: int) -> int | None:
        """The HR bureau of the unit's territory: its county's, or the city's for city units."""
        if self.is_county(org_id):
            district = self.cfg.district(self.rows[org_id].district)
            return self.by_code.get(district.hr_bureau) if district else None
        return self.city_hr if org_id in self.rows else None

    def overseers(self, org_id: int) -> set[int]:
        """The offices above a unit: its supervising departments up the tree, and the HR
        bureau of its territory with the bureaus above that."""
        return set(self.chain(org_id)[1:]) | set(self.chain(self.territorial_hr(org_id)))


# -- posts (CF-POL-9) ------------------------------------------------------------------------------

def posts_apply(cfg, org: Org | None) -> bool:
    """Whether the unit is held to its declared posts."""
    kinds = {k.value for k in cfg.policies.post_structure_kinds}
    return org is not None and org.kind == OrgKind.employer.value and org.employer_kind in kinds


def posts_by_unit_level(tenant_id: int, year: int) -> dict[tuple[int, str], tuple[int, int]]:
    """{(unit org id, level): (posts, holders)} declared for the year (the statistics table)."""
    return {(org_id, level): (posts, holders) for org_id, level, posts, holders in
            db.session.execute(
                sa.select(UnitPosts.org_id, UnitPosts.level, UnitPosts.posts, UnitPosts.holders)
                .filter_by(tenant_id=tenant_id, year=year))}


def recommended_counts(cfg, tenant_id: int, org_ids, year: int) -> Counter:
    """{(unit org id, level): files} the units' employers sent on this year that count against
    their posts: not withdrawn and not made under a policy outside post quotas."""
    if not org_ids:
        return Counter()
    outside = [p.code for p in cfg.policies.policy if p.outside_quota]
    rows = db.session.execute(
        sa.select(Application.employer_org_id, Application.level, sa.func.count())
        .join(Plan, Plan.id == Application.plan_id)
        .where(Application.tenant_id == tenant_id, Application.employer_org_id.in_(org_ids),
               # A literal 0: SQLite uses the unit index (route_pos > 0) only for that text.
               Plan.year == year, Application.route_pos > sa.literal_column("0"),
               Application.status.not_in(WITHDRAWN),
               sa.or_(Application.policy.is_(None), Application.policy.not_in(outside)))
        .group_by(Application.employer_org_id, Application.level))
    return Counter({(org_id, level): n for org_id, level, n in rows})


@dataclass(frozen=True)
class PostLine:
    """One level of a unit's posts page."""
    level: object          # the tenant's Level
    declared: UnitPosts | None
    used: int

    @property
    def left(self) -> int | None:
        return None if self.declared is None else self.declared.vacancies - self.used


def _declared(tenant_id: int, year: int, org_ids=None) -> list[UnitPosts]:
    """The year's declarations, of the given units or of every unit, with their orgs."""
    q = sa.select(UnitPosts).filter_by(tenant_id=tenant_id, year=year)
    if org_ids is not None:
        q = q.where(UnitPosts.org_id.in_(org_ids))
    return db.session.scalars(q.options(joinedload(UnitPosts.org))).all()


def post_lines(cfg, tenant_id: int, org_id: int, year: int) -> list[PostLine]:
    """Every level of the tenant with the unit's declaration and its recommended files."""
    rows = {r.level: r for r in _declared(tenant_id, year, [org_id])}
    used = recommended_counts(cfg, tenant_id, [org_id], year)
    return [PostLine(lv, rows.get(lv.code), used[(org_id, lv.code)]) for lv in cfg.tenant.levels]


def overseen_posts(cfg, actor: Actor, year: int) -> list[tuple[Org, list[PostLine]]]:
    """The units below the actor's office that declared posts for the year, with their lines
    (declared levels only)."""
    if actor.role not in OVERSIGHT_ROLES or actor.org_id is None:
        return []
    tree = _Tree(cfg, actor.tenant_id)
    rows = [r for r in _declared(actor.tenant_id, year)
            if actor.org_id in tree.overseers(r.org_id)]
    used = recommended_counts(cfg, actor.tenant_id, {r.org_id for r in rows}, year)
    order = {lv.code: i for i, lv in enumerate(cfg.tenant.levels)}
    units: dict[int, list[PostLine]] = {}
    for r in sorted(rows, key=lambda r: (r.org.name, r.org_id, order.get(r.level, 99))):
        units.setdefault(r.org_id, []).append(
            PostLine(cfg.level(r.level), r, used[(r.org_id, r.level)]))
    orgs = {r.org_id: r.org for r in rows}
    return [(orgs[org_id], lines) for org_id, lines in units.items()]


def viewable_unit(cfg, actor: Actor, org_id: int) -> Org | None:
    """The unit, when the actor is its own clerk or works in an office above it."""
    org = db.session.get(Org, org_id)
    if org is None or org.tenant_id != actor.tenant_id or not posts_apply(cfg, org):
        return None
    if actor.org_id == org.id and actor.role == Role.employer_clerk.value:
        return org
    if actor.role not in OVERSIGHT_ROLES:
        return None
    return org if actor.org_id in _Tree(cfg, org.tenant_id).overseers(org.id) else None


def own_unit(cfg, actor: Actor) -> Org | None:
    """The actor's unit when its clerk maintains posts for it."""
    if actor.role != Role.employer_clerk.value or actor.org_id is None:
        return None
    org = db.session.get(Org, actor.org_id)
    ok = org is not None and org.tenant_id == actor.tenant_id and posts_apply(cfg, org)
    return org if ok else None


def _parse_count(raw) -> int | None:
    text = str(raw if raw is not None else "").strip()
    return int(text) if text.isdigit() and int(text) <= MAX_COUNT else None


def _parse_posts(cfg, values: dict) -> tuple[dict, list]:
    """{level: (posts, holders) or None for a level left blank}, and the problems found;
    levels not in `values` are left out."""
    parsed, problems = {}, []
    for lv in (lv for lv in cfg.tenant.levels if lv.code in values):
        posts, holders = values[lv.code]
        if not str(posts or "").strip() and not str(holders or "").strip():
            parsed[lv.code] = None
            continue
        pair = (_parse_count(posts), _parse_count(holders))
        if None in pair:
            problems.append(_l("%(level)s：请同时填写岗位数和现聘人数（0至%(max)d的整数）。",
                               level=label(lv), max=MAX_COUNT))
        else:
            parsed[lv.code] = pair
    return parsed, problems


def set_posts(cfg, actor: Actor, year: int, values: dict[str, tuple[str, str]],
              now: datetime | None = None) -> int:
    """The unit's clerk declares its posts and holders per level for a year ({level: (posts,
    holders)}; both blank: no longer declared; a level not given: unchanged). A level's
    vacancies never drop below the files already recommended there. Each change is audited;
    returns how many levels changed."""
    org = own_unit(cfg, actor)
    if org is None:
        raise Forbidden(_l("无权进行此操作。"))
    parsed, problems = _parse_posts(cfg, values)
    rows = {r.level: r for r in _declared(actor.tenant_id, year, [org.id])}
    used = recommended_counts(cfg, actor.tenant_id, [org.id], year)
    for code, pair in parsed.items():
        free = max(pair[0] - pair[1], 0) if pair else 0
        if used[(org.id, code)] > free and (pair or code in rows):
            problems.append(_l("%(level)s：本年度已推荐%(n)d人，空缺岗位不能少于此数。",
                               level=label(cfg.level(code)), n=used[(org.id, code)]))
    if problems:
        raise Invalid(_l("未保存："), problems=problems)
    when, changed = now_local(now), 0
    for code, pair in parsed.items():
        changed += _write_posts(cfg, actor, org, year, code, rows.get(code), pair, when)
    db.session.commit()
    return changed


def _write_posts(cfg, actor, org, year, code, row, pair, when) -> int:
    if pair is None:
        if row is None:
            return 0
        transitions.audit(actor, "unit_posts", row.id, "clear_posts", now=when,
                          reason=f"{year}年度{_record_level(cfg, code)}：撤销岗位数填报")
        db.session.delete(row)
        return 1
    if row is not None and (row.posts, row.holders) == pair:
        return 0
    if row is None:
        row = UnitPosts(tenant_id=actor.tenant_id, org_id=org.id, year=year, level=code)
        db.session.add(row)
    row.posts, row.holders, row.updated_by = pair[0], pair[1], actor.user_id
    db.session.flush()
    transitions.audit(actor, "unit_posts", row.id, "set_posts", now=when, reason=(
        f"{year}年度{_record_level(cfg, code)}：岗位数{pair[0]}，现聘{pair[1]}"))
    return 1


def check_posts(cfg, app: Application) -> None:
    """CF-POL-9: the employer sends on no more files at a level this year than its vacant
    posts there (files outside post quotas aside)."""
    employer = app.employer
    if not posts_apply(cfg, employer) or outside_quota(cfg, app):
        return
    year, level = app.plan.year, label(cfg.level(app.level))
    # Locked until the commit, so two clerks cannot both take the last vacancy (PostgreSQL).
    row = db.session.scalar(sa.select(UnitPosts).filter_by(
        org_id=employer.id, year=year, level=app.level).with_for_update())
    if row is None:
        raise Invalid(_l("本单位尚未填报%(year)d年度%(level)s的岗位数和现聘人数，请先在“岗位设置”"
                         "中填报后再推荐。", year=year, level=level))
    used = recommended_counts(cfg, app.tenant_id, [employer.id], year)[(employer.id, app.level)]
    if used >= row.vacancies:
        raise Invalid(_l("超出岗位结构比例：本单位%(year)d年度%(level)s岗位%(posts)d个、现聘"
                         "%(holders)d人，空缺%(free)d个，已推荐%(used)d人（不含不受岗位数额限制的"
                         "申报），不能再推荐。", year=year, level=level, posts=row.posts,
                         holders=row.holders, free=row.vacancies, used=used))


# -- review quotas (CF-POL-8) ----------------------------------------------------------------------

def review_quota(cfg, code: str):
    return next((q for q in cfg.policies.review_quota if q.code == code), None)


def allocator_of(tenant_id: int, quota) -> Org | None:
    return db.session.scalar(sa.select(Org).filter_by(tenant_id=tenant_id, code=quota.allocator))


def may_edit(actor: Actor, allocator) -> bool:
    """The allocating office's own clerk shares the places out (`allocator`: its Org or its
    row in the tree, None when the tenant has no such office)."""
    return (allocator is not None and actor.org_id == allocator.id
            and actor.role == OFFICE_ROLE.get(allocator.kind))


def visible_quotas(cfg, actor: Actor) -> list[tuple[object, bool]]:
    """(quota, editable) for each quota the actor's office shares out or oversees (an office
    above the allocating one, e.g. the HR bureau it reports the shares to)."""
    if actor.role not in OVERSIGHT_ROLES or not cfg.policies.review_quota:
        return []
    tree = _Tree(cfg, actor.tenant_id)
    out = []
    for q in cfg.policies.review_quota:
        office = tree.by_code.get(q.allocator)
        if actor.org_id in tree.chain(office):
            out.append((q, may_edit(actor, tree.rows[office])))
    return out


def _target_key(a: QuotaAllocation) -> str:
    return f"district:{a.district}" if a.district else f"org:{a.org_id}"


def _allocations(tenant_id: int, code: str, lock: bool = False) -> dict[str, QuotaAllocation]:
    q = sa.select(QuotaAllocation).filter_by(tenant_id=tenant_id, quota=code)
    rows = db.session.scalars(q.with_for_update() if lock else q).all()
    return {_target_key(a): a for a in rows}


def _share_of(tree: _Tree, unit_id: int | None, keys) -> str | None:
    """The allocation a unit's files count against: the unit's own, else that of the nearest
    office above it, else its county's."""
    for org_id in tree.chain(unit_id):
        if f"org:{org_id}" in keys:
            return f"org:{org_id}"
    if unit_id is not None and tree.is_county(unit_id):
        key = f"district:{tree.rows[unit_id].district}"
        return key if key in keys else None
    return None


def _unit_of(app_row) -> int | None:
    return app_row.employer_org_id or app_row.association_org_id


def _usage(tree: _Tree, quota, keys) -> Counter:
    """{allocation key (None: no allocation): files of the quota in or through the review}."""
    rows = db.session.execute(
        sa.select(Application.employer_org_id, Application.association_org_id)
        .join(Plan, Plan.id == Application.plan_id)
        .where(Application.tenant_id == tree.tenant_id, Plan.year == quota.year,
               Application.series == quota.series, Application.level == quota.level,
               Application.status.in_(IN_REVIEW)))
    return Counter(_share_of(tree, _unit_of(r), keys) for r in rows)


@dataclass(frozen=True)
class Share:
    """One allocation as shown: who holds it, its places and the files that used them."""
    key: str
    name: str
    places: int
    used: int


def _target_name(cfg, tree: _Tree, key: str) -> str:
    kind, _, ref = key.partition(":")
    if kind == "district":
        return label(cfg.district(ref)) or ref
    return label(tree.rows.get(int(ref))) or ref


def shares(cfg, tenant_id: int, quota) -> tuple[list[Share], int]:
    """The quota's allocations with their use, and the files in the review that no
    allocation covers (after a share was withdrawn, say)."""
    tree = _Tree(cfg, tenant_id)
    allocs = _allocations(tenant_id, quota.code)
    used = _usage(tree, quota, allocs.keys())
    lines = [Share(k, _target_name(cfg, tree, k), a.places, used[k]) for k, a in allocs.items()]
    return sorted(lines, key=lambda s: (not s.key.startswith("district"), s.name)), used[None]


def targets(cfg, tenant_id: int) -> list[tuple[str, str]]:
    """What places can be given to: each district (county), then each department and unit."""
    orgs = db.session.scalars(sa.select(Org).where(
        Org.tenant_id == tenant_id,
        Org.kind.in_((OrgKind.department.value, OrgKind.employer.value)))
        .order_by(Org.kind, Org.name)).all()
    return ([(f"district:{d.code}", label(d)) for d in cfg.tenant.districts]
            + [(f"org:{o.id}", label(o)) for o in orgs])


def _parse_target(cfg, tenant_id: int, raw: str) -> str | None:
    kind, _, ref = (raw or "").partition(":")
    if kind == "district":
        return raw if cfg.district(ref) is not None else None
    if kind == "org" and ref.isdigit():
        org = db.session.get(Org, int(ref))
        ok = (org is not None and org.tenant_id == tenant_id
              and org.kind in (OrgKind.department.value, OrgKind.employer.value))
        return raw if ok else None
    return None


def set_allocation(cfg, actor: Actor, code: str, target: str, places: str,
                   now: datetime | None = None) -> None:
    """The allocating office gives a district or unit its places (0: withdraws them). The
    shares never add up to more than the total, and none drops below the files it already
    sent into the review. Audited."""
    quota = review_quota(cfg, code)
    if quota is None or not may_edit(actor, allocator_of(actor.tenant_id, quota)):
        raise Forbidden(_l("无权进行此操作。"))
    key = _parse_target(cfg, actor.tenant_id, target)
    count = _parse_count(places)
    if key is None or count is None:
        raise Invalid(_l("请选择分配对象（旗县区或单位）并填写名额（非负整数）。"))
    tree = _Tree(cfg, actor.tenant_id)
    allocs = _allocations(actor.tenant_id, code, lock=True)
    used = _usage(tree, quota, set(allocs) | {key})
    name = _target_name(cfg, tree, key)
    if count < used[key]:
        raise Invalid(_l("%(target)s已报送评审%(n)d人，名额不能少于此数。", target=name,
                         n=used[key]))
    total = sum(a.places for k, a in allocs.items() if k != key) + count
    if total > quota.total:
        raise Invalid(_l("分配合计%(sum)d人，超过核定名额%(total)d人。", sum=total,
                         total=quota.total))
    _write_allocation(actor, quota, allocs.get(key), key, count, name, now_local(now))
    db.session.commit()


def _write_allocation(actor, quota, row, key, count, name, when) -> None:
    if count == 0:
        if row is not None:
            transitions.audit(actor, "quota_allocations", row.id, "clear_allocation", now=when,
                              reason=f"{quota.name}：{name} 名额收回")
            db.session.delete(row)
        return
    if row is None:
        kind, _, ref = key.partition(":")
        row = QuotaAllocation(tenant_id=actor.tenant_id, quota=quota.code,
                              district=ref if kind == "district" else None,
                              org_id=int(ref) if kind == "org" else None)
        db.session.add(row)
    row.places, row.updated_by = count, actor.user_id
    db.session.flush()
    transitions.audit(actor, "quota_allocations", row.id, "set_allocation", now=when,
                      reason=f"{quota.name}：{name} {count}人")


def check_review_entry(cfg, app: Application) -> None:
    """CF-POL-8: a file of a capped year, series and level enters the review only within the
    places of its unit, of an office above it, or of its county."""
    for quota in cfg.policies.review_quota:
        if (quota.year, quota.series, quota.level) != (app.plan.year, app.series, app.level):
            continue
        tree = _Tree(cfg, app.tenant_id)
        allocs = _allocations(app.tenant_id, quota.code, lock=True)
        key = _share_of(tree, _unit_of(app), allocs.keys())
        if key is None:
            unit = app.employer or app.association
            raise Invalid(_l("%(quota)s：%(unit)s未分配名额，不能报送评审。",
                             quota=label(quota), unit=label(unit)))
        used = _usage(tree, quota, allocs.keys())[key]
        if used >= allocs[key].places:
            raise Invalid(_l("%(quota)s：%(target)s分配名额%(places)d人，已报送评审%(used)d人，"
                             "名额已满，不能再报送。", quota=label(quota),
                             target=_target_name(cfg, tree, key), places=allocs[key].places,
                             used=used))


def check_forwarding(cfg, app: Application, next_kind: str) -> None:
    """The quota guards of a file sent on: the employer's posts when the employer sends it,
    the review quota when it goes to the committee's agency."""
    step = app.current_step
    if step is not None and step["kind"] == StepKind.employer.value:
        check_posts(cfg, app)
    if next_kind == StepKind.agency.value:
        check_review_entry(cfg, app)
