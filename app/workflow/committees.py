"""Committee filing (AE-COMM-1): scope, scoring standard, procedure and roster; ≤ 3 years."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Committee
from .actors import Actor
from .errors import Forbidden, Invalid
from .transitions import audit

MAX_VALID_YEARS = 3


def parse_standard(text: str) -> list[dict]:
    """One criterion a line: `名称|满分`, e.g. `业绩成果|40`."""
    out = []
    for i, line in enumerate(l.strip() for l in text.splitlines() if l.strip()):
        name, _, top = line.partition("|")
        if not name.strip() or not top.strip().isdigit() or int(top) <= 0:
            raise Invalid(_l("评审标准第%(n)d行应为“名称|满分”，如“业绩成果|40”。", n=i + 1))
        out.append({"code": f"c{i + 1}", "name": name.strip(), "max": int(top)})
    return out


def file_committee(actor: Actor, committee: Committee, *, filed_on: date, valid_until: date,
                   scope: str, standard_text: str, procedure: str, roster: list[int]) -> None:
    """File (or re-file) a committee; on any problem nothing is saved."""
    from ..tenancy.schema import OrgKind
    from .abilities import at_city_hr
    if committee.agency is not None and committee.agency.kind == OrgKind.self_review_unit.value:
        # A self-review unit's committees are filed with the city HR bureau (seed 002 第九条(四)).
        if not at_city_hr(actor.role, actor.org_id, actor.tenant_id) \
                or committee.tenant_id != actor.tenant_id:
            raise Forbidden(_l("自主评审单位的评委会由市人力资源社会保障局备案。"))
    elif actor.org_id != committee.agency_org_id:
        raise Forbidden(_l("只有组建该评委会的评审服务机构可以备案。"))
    problems = []
    limit = date(filed_on.year + MAX_VALID_YEARS, filed_on.month, min(filed_on.day, 28))
    if valid_until <= filed_on or valid_until > limit:
        problems.append(_l("备案有效期不超过3年。"))
    if not scope.strip():
        problems.append(_l("请填写评审人员范围。"))
    if not procedure.strip():
        problems.append(_l("请填写评审工作程序。"))
    try:
        standard = parse_standard(standard_text)
        if not standard:
            problems.append(_l("请填写评审量化标准。"))
    except Invalid as e:
        problems.append(e.message)
        standard = []
    if not roster:
        problems.append(_l("请选择专家名单。"))
    if problems:
        raise Invalid(_l("未备案："), problems=problems)
    committee.filed_on, committee.valid_until = filed_on, valid_until
    committee.scope, committee.procedure = scope.strip(), procedure.strip()
    committee.standard, committee.roster = standard, sorted(roster)
    committee.version += 1
    audit(actor, "committees", committee.id, "file",
          reason=f"{filed_on.isoformat()}..{valid_until.isoformat()}")
    db.session.commit()
