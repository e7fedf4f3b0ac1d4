"""The rehearsal's cast, made from the tenant's configuration: the demo file's employers, office
accounts and experts where it has them, a staff account for every office of orgs.toml that has
none, an employer of every employer kind the tenant lists at each tier, a synthetic expert pool
for each series the tenant names no expert for, and synthetic applicants of every plan, level,
series, route, policy, person type and employer kind the configuration allows."""
from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace

import sqlalchemy as sa

from ..extensions import db
from ..models import Committee, Expert, Org, OrgStatus, Plan, UnitPosts, User
from ..tenancy.schema import OrgKind, Tier
from ..workflow import policies as policy_rules
from ..workflow.eligibility import exam_replaces_review
from ..workflow.routing import required_committee

# The role of an office's staff account, by the office's kind.
OFFICE_ROLES = {OrgKind.department.value: "department_clerk", OrgKind.hr_bureau.value: "hr_officer",
                OrgKind.agency.value: "agency_clerk", OrgKind.association.value: "association_clerk",
                OrgKind.self_review_unit.value: "agency_clerk"}
NO_LOGIN = "!rehearsal"  # no password matches: the cast never signs in
PANEL_SIZE = 5
MIN_PANEL = 3  # the smallest panel a session may seat (sessions.create_session)
POOL_MARGIN = 3  # synthetic experts beyond a panel: recusal and the presiding seats


@dataclass
class Case:
    """One synthetic applicant and the file they make."""
    n: int
    plan_code: str
    series: str
    level: str
    specialty: str | None
    committee_code: str
    employer_id: int | None
    person_type: str = "professional"
    association_id: int | None = None
    policy: str | None = None
    classified: bool = False
    fail_ballot: bool = False
    kind: list[str] = field(default_factory=list)  # what this case covers, for the report


def _user(tenant_id: int, username: str, name: str, role: str, org_id: int | None, **kw) -> User:
    user = db.session.scalar(sa.select(User).filter_by(tenant_id=tenant_id, username=username))
    if user is None:
        user = User(tenant_id=tenant_id, username=username, name=name, role=role, org_id=org_id,
                    password_hash=NO_LOGIN, **kw)
        db.session.add(user)
    return user


def load_base(cfg, tenant_id: int, year: int) -> list[str]:
    """The demo file's employers, accounts, experts, posts and quota shares (no demo plan and no
    demo files); returns the problems it found."""
    if cfg.demo is None:
        return []
    from ..demo import load_demo
    from ..tenancy.loader import TenantConfigError
    demo = cfg.demo.model_copy(update={"demo_plan": None, "demo_application": [], "fee": []})
    try:
        load_demo(dataclasses.replace(cfg, demo=demo), tenant_id, date(year, 1, 2))
    except TenantConfigError as e:
        db.session.rollback()
        return [str(e)]
    return []


def staff_offices(tenant_id: int) -> None:
    """A staff account for every open office that has none."""
    have = set(db.session.scalars(sa.select(User.org_id).where(
        User.tenant_id == tenant_id, User.role != "applicant", User.active.is_(True))))
    for org in db.session.scalars(sa.select(Org).filter_by(tenant_id=tenant_id, closed_on=None)
                                  .order_by(Org.id)):
        role = OFFICE_ROLES.get(org.kind)
        if role and org.id not in have:
            _user(tenant_id, f"rh-staff-{org.id}", f"演练经办人{org.id}", role, org.id)
    db.session.commit()


def employers(cfg, tenant_id: int, year: int) -> dict[tuple[str, str], Org]:
    """An approved employer of every (employer kind, tier) the tenant has, in turn in each
    district, each with a clerk; demo employers are reused. {(kind, tier): employer}."""
    found: dict[tuple[str, str], Org] = {}
    for org in db.session.scalars(sa.select(Org).filter_by(
            tenant_id=tenant_id, kind=OrgKind.employer.value,
            status=OrgStatus.approved.value, closed_on=None).order_by(Org.id)):
        if org.employer_kind:
            found.setdefault((org.employer_kind, org.tier or Tier.county.value), org)
    districts = itertools.cycle(cfg.tenant.districts)
    n = 0
    for kind in cfg.tenant.employer_kinds:
        for tier in (Tier.county.value, Tier.city.value):
            if (kind.value, tier) in found:
                continue
            n += 1
            d = next(districts)
            org = Org(tenant_id=tenant_id, code=f"rh-employer-{n}", name=f"演练用人单位{n}",
                      name_en=f"Rehearsal employer {n}", kind=OrgKind.employer.value, tier=tier,
                      district=d.code, employer_kind=kind.value,
                      status=OrgStatus.approved.value)
            db.session.add(org)
            found[(kind.value, tier)] = org
    db.session.flush()
    for org in found.values():
        clerk = db.session.scalar(sa.select(User.id).filter_by(
            tenant_id=tenant_id, org_id=org.id, role="employer_clerk", active=True))
        if clerk is None:
            _user(tenant_id, f"rh-clerk-{org.id}", f"演练单位经办人{org.id}", "employer_clerk",
                  org.id)
        if org.employer_kind in {k.value for k in cfg.policies.post_structure_kinds}:
            for lv in cfg.tenant.levels:  # CF-POL-9: posts enough for the year's files
                row = db.session.scalar(sa.select(UnitPosts).filter_by(
                    tenant_id=tenant_id, org_id=org.id, year=year, level=lv.code))
                if row is None:
                    db.session.add(UnitPosts(tenant_id=tenant_id, org_id=org.id, year=year,
                                             level=lv.code, posts=500, holders=0))
                else:  # a demo unit's posts: room for every synthetic file it sends
                    row.posts = max(row.posts, row.holders + 500)
    db.session.flush()
    _quota_shares(cfg, tenant_id, year, list(found.values()))
    db.session.commit()
    return found


def has_places(cfg, tenant_id: int, org: Org, quota: str) -> bool:
    """CF-POL-8: the unit's files count against some allocation of the quota (the rule the
    forwarding check applies: its own, an office's above it, its county's)."""
    from ..workflow import quotas as quota_rules
    keys = quota_rules._allocations(tenant_id, quota).keys()
    return quota_rules._share_of(quota_rules._Tree(cfg, tenant_id), org.id, keys) is not None


def _quota_shares(cfg, tenant_id: int, year: int, made: list[Org]) -> None:
    """CF-POL-8: the rehearsal's employers without places of each review quota of the year get
    some out of what its allocator has not shared out yet; when nothing is left their files are
    refused, as a real unit's would be."""
    from ..models import QuotaAllocation
    for quota in cfg.policies.review_quota:
        if quota.year != year:
            continue
        given = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(
            QuotaAllocation.places), 0)).filter_by(tenant_id=tenant_id, quota=quota.code))
        left = quota.total - given
        for org in made:
            if has_places(cfg, tenant_id, org, quota.code):
                continue  # places of its own, of an office above it or of its county
            if left <= 0:
                break
            places = min(3, left)
            db.session.add(QuotaAllocation(tenant_id=tenant_id, quota=quota.code,
                                           district=None, org_id=org.id, places=places))
            left -= places


def expert_pools(cfg, tenant_id: int, year: int) -> dict[str, dict]:
    """A synthetic expert pool for every series a committee reviews, large enough for a panel
    after recusal and with the committees' private-sector share, beside the experts the tenant's
    files name (checked on their own before, checks.experts): the real pool is recruited in the
    portal, not configured. {series: {"named": n, "synthetic": n}}."""
    named: dict[str, int] = {}
    for series in db.session.scalars(sa.select(Expert.series).filter_by(tenant_id=tenant_id)):
        named[series] = named.get(series, 0) + 1
    wanted = sorted({s for c in cfg.directory.committee for s in c.series})
    out = {}
    size = PANEL_SIZE + POOL_MARGIN
    for series in wanted:
        share = max((c.private_share for c in cfg.directory.committee if series in c.series),
                    default=0)
        private = math.ceil(PANEL_SIZE * share) + (1 if share else 0)
        for i in range(size):
            user = _user(tenant_id, f"rh-expert-{series}-{i}", f"演练专家{series}{i}", "expert",
                         None)
            db.session.flush()
            db.session.add(Expert(
                tenant_id=tenant_id, user_id=user.id, name=user.name, gender="female",
                birth_date=date(year - 48, 3, 1), title_level="senior", title_year=year - 10,
                series=series, specialty=None, employer_name="演练专家所在单位",
                private_sector=i >= size - private,
                role="chair" if i == 0 else ("vice_chair" if i == 1 else "member"),
                entry_route="recommended", term_start=date(year - 1, 1, 1), terms=1,
                status="approved"))
        out[series] = {"named": named.get(series, 0), "synthetic": size}
    db.session.commit()
    return out


def _committee_for(cfg, tenant_id: int, plan: Plan, series: str, level: str,
                   specialty: str | None, employer: Org | None, association: Org | None):
    """The committee a file of this kind goes to: the district's one where the tenant routes by
    district, else the first of the directory that takes the series, level and specialty."""
    from ..workflow.directory import refusal
    probe = SimpleNamespace(series=series, level=level, specialty=specialty, employer=employer,
                            association=association)
    wanted = required_committee(cfg, probe)
    rows = {c.code: c for c in db.session.scalars(sa.select(Committee).filter_by(
        tenant_id=tenant_id))}
    for seed in cfg.directory.committee:
        if wanted is not None and seed.code != wanted:
            continue
        if wanted is None and seed.district_only:
            continue
        if series not in seed.series or level not in seed.levels:
            continue
        if seed.specialties and specialty not in seed.specialties:
            continue
        row = rows.get(seed.code)
        if row is not None and refusal(cfg, plan, row, series, level, specialty) is None:
            return row
    return None


def cases(cfg, tenant_id: int, plans: list[Plan], employers_by: dict, size: str) -> tuple[
        list[Case], list[dict]]:
    """The synthetic files, and the kinds of file the configuration offers that no committee
    takes (each a finding)."""
    out: list[Case] = []
    missing: list[dict] = []
    kinds = list(employers_by.items())
    associations = list(db.session.scalars(sa.select(Org).filter_by(
        tenant_id=tenant_id, kind=OrgKind.association.value, closed_on=None).order_by(Org.id)))
    turn = itertools.count()
    pol = cfg.policies
    routed = {dc.specialty for dc in cfg.routing.district_committee if dc.specialty}
    freelancers: set[tuple] = set()
    def placed(pick, quota) -> bool:
        return has_places(cfg, tenant_id, pick[1], quota)
    for plan in plans:
        capped = {(q.series, q.level): q.code for q in pol.review_quota if q.year == plan.year}
        reserved = policy_rules.reserved_policy(cfg, plan.code)
        rule = cfg.policy(reserved)
        allowed = rule.params.get("series") if rule is not None else None
        pairs = [(level, s) for s in cfg.tenant.series for level in plan.levels
                 if level in s.levels and not exam_replaces_review(cfg, s.code, level)
                 and (not allowed or s.code in allowed)]
        every = list(pairs)
        if size == "tiny":  # one file per level of the plan
            pairs = [next(p for p in pairs if p[0] == lv) for lv in plan.levels
                     if any(p[0] == lv for p in pairs)]
        elif size == "small":  # one level per series in turn, then any level left out
            chosen = []
            for i, s in enumerate(cfg.tenant.series):
                mine = [p for p in pairs if p[1] is s]
                if mine:
                    chosen.append(mine[i % len(mine)])
            seen = {lv for lv, _ in chosen}
            chosen += [next(p for p in pairs if p[0] == lv) for lv in plan.levels
                       if lv not in seen and any(p[0] == lv for p in pairs)]
            pairs = chosen
        for level, s in pairs:
            specialties = [sp.code for sp in s.specialties] or [None]
            if size != "full":
                specialties = specialties[:1]
            # Specialties reviewed by district (joint reviews) always: their routing differs.
            specialties += [sp.code for sp in s.specialties
                            if sp.code in routed and sp.code not in specialties]
            for sp in specialties:
                picks = kinds if size == "full" else [kinds[next(turn) % len(kinds)]]
                if rule is not None and rule.params.get("employer_tiers"):
                    picks = [k for k in kinds if k[0][1] in rule.params["employer_tiers"]][:1]
                if sp in routed:  # one employer in each district the joint review names
                    picks = _by_district(cfg, kinds, sp) or picks
                quota = capped.get((s.code, level))
                if quota:  # a capped title: only units with places send files
                    picks = ([k for k in picks if placed(k, quota)]
                             or [k for k in kinds if placed(k, quota)][:1] or picks)
                for (ekind, tier), employer in picks:
                    if ekind in {k.value for k in pol.letter_employer_kinds} and any(
                            c.series == s.code and level in c.levels
                            and (not c.specialties or sp in c.specialties)
                            for c in pol.central_catalogue):
                        continue  # BJ-CENTRAL-1: reviewed by the unit's own (central) committee
                    committee = _committee_for(cfg, tenant_id, plan, s.code, level, sp,
                                               employer, None)
                    if committee is None:
                        missing.append({"plan": plan.code, "series": s.code, "level": level,
                                        "specialty": sp or ""})
                        break
                    out.append(Case(len(out) + 1, plan.code, s.code, level, sp, committee.code,
                                    employer.id, policy=reserved,
                                    kind=[f"employer_kind:{ekind}", f"tier:{tier}",
                                          f"level:{level}", f"series:{s.code}"]
                                    + ([f"policy:{reserved}"] if reserved else [])))
        # A freelancer of each series the tenant takes them in (once per plan and series).
        for level, s in every:
            if ("freelancer" not in cfg.tenant.person_types or not associations
                    or rule is not None or (plan.code, s.code) in freelancers
                    or (pol.freelancer_series is not None
                        and s.code not in pol.freelancer_series)):
                continue
            sp = s.specialties[0].code if s.specialties else None
            assoc = next((a for a in associations if not a.series or s.code in a.series), None)
            committee = assoc and _committee_for(cfg, tenant_id, plan, s.code, level, sp, None,
                                                 assoc)
            if committee is not None:
                freelancers.add((plan.code, s.code))
                out.append(Case(len(out) + 1, plan.code, s.code, level, sp, committee.code,
                                None, person_type="freelancer", association_id=assoc.id,
                                kind=["freelancer", f"level:{level}", f"series:{s.code}"]))
    out += _classified(cfg, tenant_id, plans, out)
    # Ballots pass and fail: every seventh file is voted down.
    for c in out:
        c.fail_ballot = c.n % 7 == 0
    return out, missing


def _by_district(cfg, kinds, specialty: str) -> list:
    """An employer in each district a joint review names (and one elsewhere, for its default)."""
    rule = next(dc for dc in cfg.routing.district_committee if dc.specialty == specialty)
    out = []
    for district in [*rule.by_district, None]:
        found = next((k for k in kinds if (k[1].district in rule.by_district) == (
            district is not None) and (district is None or k[1].district == district)), None)
        if found is not None:
            out.append(found)
    return out


def _classified(cfg, tenant_id: int, plans: list[Plan], made: list[Case]) -> list[Case]:
    """Per plan, one classified applicant (CF-MODE-1) on a file whose committee reviews in the
    tenant's mode for classified personnel, where the plan has such a review."""
    mode = cfg.policies.classified_review_mode
    if not mode:
        return []
    committees = {c.code: c for c in db.session.scalars(sa.select(Committee).filter_by(
        tenant_id=tenant_id))}
    out = []
    for plan in plans:
        for c in made:
            if c.plan_code != plan.code or not c.employer_id:
                continue
            if plan.mode_for(committees[c.committee_code], c.series, c.specialty,
                             c.level) == mode:
                out.append(dataclasses.replace(c, n=len(made) + len(out) + 1, classified=True,
                                               kind=["classified"]))
                break
    return out
