"""Who a self-review unit may evaluate, and the record of its attempts beyond that (seed 002
第六条, 第十三条; SR-SCOPE-1, SR-SUPERV-1).

A committee whose office is a self-review unit takes only the unit's own staff who pay social
insurance in the tenant's city, in the series and levels the city HR bureau approved for the
unit and the committee evaluates. Anything else is refused with the reason, and the refusal is
kept as a supervision event the city HR bureau lists; so is a session the unit tries to open
beyond its approved scope. Every check reads the committee's office, not the plan: it holds for
a unit's committee in any plan."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Org, Role
from ..models.unit_runs import SelfReviewEvent
from ..tenancy import label
from ..tenancy.schema import OrgKind
from .actors import Actor
from .errors import Invalid, Recorded
from .transitions import audit

APPLICATION_REFUSED, SUBMISSION_REFUSED, SESSION_REFUSED = (
    "application_refused", "submission_refused", "session_refused")
KIND_LABELS = {
    APPLICATION_REFUSED: _l("受理本单位以外人员或超范围申报（已拒绝）"),
    SUBMISSION_REFUSED: _l("提交超出自主评审范围的申报（已拒绝）"),
    SESSION_REFUSED: _l("超出批准的系列或级别组织评审会（已拒绝）"),
}
RECENT_DAYS = 30


def unit_of(committee) -> Org | None:
    """The self-review unit whose committee this is, or None."""
    agency = committee.agency if committee is not None else None
    return agency if agency is not None and agency.kind == OrgKind.self_review_unit.value \
        else None


def is_unit_file(app) -> bool:
    return unit_of(app.committee) is not None


def place(cfg) -> str:
    """Where the unit's applicants pay social insurance, in the reader's language."""
    rules = cfg.policies.self_review
    zh = rules.insurance_place or cfg.tenant.name.removesuffix("市")
    en = rules.insurance_place_en or cfg.tenant.name_en
    loc = get_locale()
    return en if loc is not None and loc.language == "en" else zh


def insurance_label(cfg):
    """The basic-information tick the applicant declares and the unit verifies (第六条)."""
    return _l("本人与本单位建立劳动人事关系，依法在%(place)s缴纳社会保险", place=place(cfg))


def approved_scope(cfg, unit: Org) -> list[dict]:
    """The series and levels the unit may evaluate: the city HR bureau's approval recorded in
    the portal, else the scope the tenant's files record for it (filed before the portal)."""
    from .self_review import approved_scope as approved_here
    found = approved_here(unit.tenant_id, unit.id)
    if found:
        return found
    seed = next((o for o in cfg.orgs.org if o.code == unit.code), None)
    return [p.model_dump() for p in seed.self_review_scope] if seed is not None else []


def _in_scope(pairs, series: str, level: str) -> bool:
    return any(p.get("series") == series and p.get("level") == level for p in pairs or ())


def refusal(cfg, unit: Org, committee, employer_org_id: int | None, series: str, level: str,
            insured: bool | None = None):
    """The reason a file of (series, level) from an applicant employed by `employer_org_id` is
    outside the unit's evaluations, or None. `insured`: the applicant's declaration (None: not
    asked yet, as when the draft is created)."""
    names = dict(unit=label(unit), series=label(cfg.series(series)) or series,
                 level=label(cfg.level(level)) or level)
    if employer_org_id != unit.id:
        return _l("%(unit)s实行职称自主评审，只评审与本单位建立劳动人事关系的专业技术人员"
                  "（自主评审办法第六条）；请通过所在单位按常规渠道申报。", **names)
    if not _in_scope(approved_scope(cfg, unit), series, level):
        return _l("%(unit)s未经批准自主评审%(series)s系列%(level)s职称，不能受理该申报"
                  "（自主评审办法第十三条：按照批准备案的权限和范围开展评审）。", **names)
    if series not in (committee.series or ()) or level not in (committee.levels or ()):
        return _l("%(unit)s的该评审委员会不评审%(series)s系列%(level)s职称。", **names)
    if insured is False:
        return _l("职称自主评审只受理依法在%(place)s缴纳社会保险的本单位专业技术人员"
                  "（自主评审办法第六条）；请在基本信息中如实声明。", place=place(cfg))
    return None


def _event(actor: Actor, unit: Org, kind: str, series: str, level: str, reason,
           applicant_id=None, application_id=None):
    """The rows of one refusal: the event and its audit entry (reason kept in Chinese)."""
    def record():
        with force_locale("zh_Hans_CN"):
            text = str(reason)
        row = SelfReviewEvent(tenant_id=unit.tenant_id, unit_org_id=unit.id, kind=kind,
                              series=series, level=level, applicant_id=applicant_id,
                              application_id=application_id, reason=text,
                              actor_id=actor.user_id)
        db.session.add(row)
        db.session.flush()
        audit(actor, SelfReviewEvent.__tablename__, row.id, kind, reason=text[:2000])
    return record


def refuse(actor: Actor, unit: Org, kind: str, series: str, level: str, reason, **who):
    """Raise the refusal; whoever catches it (the transition service, or the caller's
    `keep_and_raise`) writes the event after rolling back."""
    raise Recorded(reason, _event(actor, unit, kind, series, level, reason, **who))


def keep_and_raise(error: Recorded):
    db.session.rollback()
    error.keep()
    raise error


def check_creation(cfg, actor: Actor, user, committee, series: str, level: str) -> None:
    """SR-SCOPE-1 when a draft is created for a unit's committee (nothing written yet)."""
    unit = unit_of(committee)
    if unit is None:
        return
    reason = refusal(cfg, unit, committee, user.org_id, series, level)
    if reason is not None:
        try:
            refuse(actor, unit, APPLICATION_REFUSED, series, level, reason,
                   applicant_id=user.id)
        except Recorded as e:
            keep_and_raise(e)


def check_submission(cfg, actor: Actor, app) -> None:
    """SR-SCOPE-1 on (re)submission, inside the transition: the declaration is now asked."""
    unit = unit_of(app.committee)
    if unit is None:
        return
    insured = bool((app.basic or {}).get("local_insurance"))
    reason = refusal(cfg, unit, app.committee, app.employer_org_id, app.series, app.level,
                     insured)
    if reason is not None:
        refuse(actor, unit, SUBMISSION_REFUSED, app.series, app.level, reason,
               applicant_id=app.applicant_id, application_id=app.id)


def check_session(cfg, actor: Actor, committee, series: str, level: str) -> None:
    """SR-SUPERV-1: a unit opens a session only in its approved series and levels."""
    unit = unit_of(committee)
    if unit is None or _in_scope(approved_scope(cfg, unit), series, level):
        return
    reason = _l("%(unit)s未经批准自主评审%(series)s系列%(level)s职称，不能组织该评审会"
                "（自主评审办法第十三条）。", unit=label(unit),
                series=label(cfg.series(series)) or series,
                level=label(cfg.level(level)) or level)
    try:
        refuse(actor, unit, SESSION_REFUSED, series, level, reason)
    except Recorded as e:
        keep_and_raise(e)


def basic_fields(cfg, app, data: dict) -> dict:
    """The declaration of the basic-information form; {} for a file of no unit."""
    if not is_unit_file(app):
        return {}
    return {"local_insurance": bool(data.get("local_insurance"))}


def check_verified(cfg, app, params: dict) -> None:
    """The unit, as the applicant's employer, confirms the declaration before recommending."""
    if is_unit_file(app) and not params.get("insurance_verified"):
        raise Invalid(_l("请核实申报人与本单位的劳动人事关系和在%(place)s缴纳社会保险的情况后再推荐。",
                         place=place(cfg)))


# -- the city HR bureau's list (SR-SUPERV-1) -----------------------------------------------------

def may_supervise(user) -> bool:
    from .abilities import at_city_hr
    return user.role == Role.hr_officer.value and at_city_hr(user.role, user.org_id,
                                                              user.tenant_id)


def events(tenant_id: int, unit_id: int | None = None, limit: int = 500) -> list[SelfReviewEvent]:
    q = sa.select(SelfReviewEvent).where(SelfReviewEvent.tenant_id == tenant_id)
    if unit_id:
        q = q.where(SelfReviewEvent.unit_org_id == unit_id)
    return db.session.scalars(q.options(joinedload(SelfReviewEvent.unit),
                                        joinedload(SelfReviewEvent.applicant))
                              .order_by(SelfReviewEvent.at.desc(), SelfReviewEvent.id.desc())
                              .limit(limit)).all()


def waiting(user, today: date) -> list[dict]:
    """For the city HR bureau: refusals recorded in the last 30 days (one query)."""
    if user is None or not getattr(user, "is_authenticated", False) or not may_supervise(user):
        return []
    from datetime import datetime, timezone
    since = datetime.combine(today - timedelta(days=RECENT_DAYS), datetime.min.time(),
                             tzinfo=timezone.utc)
    n = db.session.scalar(sa.select(sa.func.count(SelfReviewEvent.id)).where(
        SelfReviewEvent.tenant_id == user.tenant_id, SelfReviewEvent.at >= since)) or 0
    return [{"label": _l("近30日自主评审单位超范围行为记录"), "count": n,
             "endpoint": "selfreview.supervision", "args": {}}] if n else []
