"""Who holds an application next: the route computed at submission from the tenant's rules."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Org, Role
from ..tenancy.schema import OrgKind, StepKind, Tier
from .errors import Invalid

STEP_ROLE = {
    StepKind.employer: Role.employer_clerk,
    StepKind.supervising_department: Role.department_clerk,
    StepKind.county_department: Role.department_clerk,
    StepKind.city_department: Role.department_clerk,
    StepKind.county_hr: Role.hr_officer,
    StepKind.city_hr: Role.hr_officer,
    StepKind.region_hr: Role.hr_officer,
    StepKind.agency: Role.agency_clerk,
}

_HR_TIER = {StepKind.county_hr: Tier.county, StepKind.city_hr: Tier.city,
            StepKind.region_hr: Tier.region}
_DEPARTMENT_TIER = {StepKind.county_department: Tier.county,
                    StepKind.city_department: Tier.city}


def committee_tier(app) -> str | None:
    """Where the application's committee sits: the tier of its agency (办事机构)."""
    agency = app.committee.agency if app.committee else None
    return agency.tier if agency else None


def committee_seat(app) -> str | None:
    """Where the committee sits seen from the file's own county (schema COMMITTEE_SEATS): a
    county committee is the file's own only in the district the file is reported from."""
    agency = app.committee.agency if app.committee else None
    if agency is None:
        return None
    if agency.tier != Tier.county.value:
        return agency.tier
    territory = _territorial(app)
    own = territory is not None and territory.district and territory.district == agency.district
    return "own_county" if own else "other_county"


def _fact(key: str, app, employer: Org | None):
    if key == "person_type":
        return app.person_type
    if key == "employer_kind":
        return employer.employer_kind if employer else None
    if key == "series":
        return app.series
    if key == "specialty":
        return app.specialty
    if key == "tier":
        return employer.tier if employer else None
    if key == "committee_tier":
        return committee_tier(app)
    if key == "committee_seat":
        return committee_seat(app)
    if key == "policy":
        return app.policy
    raise KeyError(key)


def _matches(when: dict, app, employer: Org | None, cfg) -> bool:
    for key, want in when.items():
        if key == "level_rank_max":
            if cfg.level(app.level).rank > int(want):
                return False
        elif key == "level_rank_min":
            if cfg.level(app.level).rank < int(want):
                return False
        else:
            fact = _fact(key, app, employer)
            # A list means "any of these".
            if fact not in (want if isinstance(want, list) else [want]):
                return False
    return True


def matching_rule(cfg, app, employer: Org | None):
    return next((r for r in cfg.routing.route if _matches(r.when, app, employer, cfg)), None)


def _territorial(app) -> Org | None:
    """The org whose district decides the county tier: the employer, else (for freelancers
    without one) the association that vets them."""
    employer = app.employer
    if employer is not None and employer.district:
        return employer
    association = app.association
    return association if association is not None and association.district else employer


def _hr_bureau(tenant_id: int, cfg, employer: Org | None, tier: Tier) -> Org | None:
    if tier == Tier.county:
        district = cfg.district(employer.district) if employer and employer.district else None
        if district is None:
            return None  # no territory, no county bureau: never guess one
        return db.session.scalar(sa.select(Org).filter_by(tenant_id=tenant_id,
                                                          code=district.hr_bureau))
    return db.session.scalar(sa.select(Org).filter_by(
        tenant_id=tenant_id, kind=OrgKind.hr_bureau.value, tier=tier.value, closed_on=None)
        .order_by(Org.id))


def _series_department(tenant_id: int, app, territory: Org | None, tier: Tier) -> Org | None:
    """The department in charge of the application's series at the county of the employer, or
    at the city (orgs.toml: a department's `series`)."""
    q = sa.select(Org).filter_by(tenant_id=tenant_id, kind=OrgKind.department.value,
                                 tier=tier.value, closed_on=None)
    if tier == Tier.county:
        if territory is None or not territory.district:
            return None
        q = q.filter_by(district=territory.district)
    return next((o for o in db.session.scalars(q.order_by(Org.id))
                 if app.series in (o.series or [])), None)


def compute_route(cfg, app) -> list[dict]:
    """[{"kind": step kind, "org_id": holder}] for the application, or Invalid with the reason."""
    employer = app.employer
    territory = _territorial(app)
    rule = matching_rule(cfg, app, employer)
    if app.plan is not None and app.plan.owner_org_id:
        return _unit_route(app, rule)
    if rule is None:
        raise Invalid(_l("没有适用于此申报的报送路径，请联系人社部门。"))
    route = []
    for kind in rule.steps:
        org = None
        if kind == StepKind.employer:
            org = employer
        elif kind == StepKind.supervising_department:
            parent = employer.parent if employer else None
            if parent is None or parent.kind != OrgKind.department.value:
                continue  # no supervising department: the next tier receives it directly
            org = parent
        elif kind == StepKind.agency:
            org = app.committee.agency
        elif kind in _DEPARTMENT_TIER:
            org = _series_department(app.tenant_id, app, territory, _DEPARTMENT_TIER[kind])
        else:
            org = _hr_bureau(app.tenant_id, cfg, territory, _HR_TIER[kind])
        if org is None:
            raise Invalid(_l("无法确定报送环节的审核单位，请联系人社部门。"))
        if not org.is_open:  # a closed unit (app/workflow/orgtree.py) receives nothing new
            raise Invalid(_l("%(o)s已撤销，不能再向其报送申报，请联系人社部门。", o=org.name))
        # e.g. a school supervised by the education bureau: one review, not two. A self-review
        # unit's own staff pass it twice: as their employer, then as its committee's office.
        if route and route[-1]["org_id"] == org.id and kind != StepKind.agency:
            continue
        route.append({"kind": kind.value, "org_id": org.id})
    return route


def _unit_route(app, rule) -> list[dict]:
    """A file in a self-review unit's own plan (seed 002 第九条(五)) stays in the unit: its
    clerk as the employer where the tenant's route has that step, then its committee office."""
    unit = app.committee.agency if app.committee else None
    if unit is None or unit.id != app.plan.owner_org_id or app.employer_org_id != unit.id:
        raise Invalid(_l("无法确定报送环节的审核单位，请联系人社部门。"))
    if not unit.is_open:
        raise Invalid(_l("%(o)s已撤销，不能再向其报送申报，请联系人社部门。", o=unit.name))
    route = []
    if rule is None or StepKind.employer in rule.steps:
        route.append({"kind": StepKind.employer.value, "org_id": unit.id})
    route.append({"kind": StepKind.agency.value, "org_id": unit.id})
    return route


def required_committee(cfg, app) -> str | None:
    """For specialties (or series and levels) reviewed by district — a joint review, or a
    district without a committee entrusting another — the committee the employer's district is
    assigned to; None when the application is not district-routed."""
    for rule in cfg.routing.district_committee:
        if rule.specialty is not None and rule.specialty != app.specialty:
            continue
        if (rule.series and app.series not in rule.series) or (
                rule.levels and app.level not in rule.levels):
            continue
        territory = _territorial(app)
        district = territory.district if territory else None
        return rule.by_district.get(district, rule.default)
    return None
