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
    StepKind.county_hr: Role.hr_officer,
    StepKind.city_hr: Role.hr_officer,
    StepKind.region_hr: Role.hr_officer,
    StepKind.agency: Role.agency_clerk,
}


def _matches(when: dict, app, employer: Org | None, cfg) -> bool:
    for key, want in when.items():
        if key == "person_type" and app.person_type != want:
            return False
        if key == "employer_kind" and (employer is None or employer.employer_kind != want):
            return False
        if key == "series" and app.series != want:
            return False
        if key == "level_rank_max" and cfg.level(app.level).rank > int(want):
            return False
        if key == "tier" and (employer is None or employer.tier != want):
            return False
    return True


def matching_rule(cfg, app, employer: Org | None):
    return next((r for r in cfg.routing.route if _matches(r.when, app, employer, cfg)), None)


def _hr_bureau(tenant_id: int, cfg, employer: Org | None, tier: Tier) -> Org | None:
    if tier == Tier.county and employer is not None and employer.district:
        district = cfg.district(employer.district)
        code = district.hr_bureau if district else None
        return db.session.scalar(sa.select(Org).filter_by(tenant_id=tenant_id, code=code))
    return db.session.scalar(sa.select(Org).filter_by(
        tenant_id=tenant_id, kind=OrgKind.hr_bureau.value, tier=tier.value).order_by(Org.id))


def compute_route(cfg, app) -> list[dict]:
    """[{"kind": step kind, "org_id": holder}] for the application, or Invalid with the reason."""
    employer = app.employer
    rule = matching_rule(cfg, app, employer)
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
        else:
            tier = {StepKind.county_hr: Tier.county, StepKind.city_hr: Tier.city,
                    StepKind.region_hr: Tier.region}[kind]
            org = _hr_bureau(app.tenant_id, cfg, employer, tier)
        if org is None:
            raise Invalid(_l("无法确定报送环节的审核单位，请联系人社部门。"))
        route.append({"kind": kind.value, "org_id": org.id})
    return route


def required_committee(cfg, app) -> str | None:
    """For specialties reviewed by district (e.g. robotics), the committee the employer's
    district is assigned to; None when the specialty is not district-routed."""
    for rule in cfg.routing.district_committee:
        if rule.specialty == app.specialty:
            district = app.employer.district if app.employer else None
            return rule.by_district.get(district, rule.default)
    return None
