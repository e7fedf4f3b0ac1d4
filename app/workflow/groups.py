"""Review groups of their own within a session (单独分组, CF-GROUP-1).

The tenant names the groups every session forms where it has such files (Chifeng: non-public
sector and 专精特新 / 单项冠军 enterprises) and those a committee may choose to form (county and
township units). A file's group follows from its data: the employer's kind and honours, the
employer's tier and the place of the latest work-history entry. Each group has its own ranking,
roster section and ballot list; passing is still each file's own ≥ 2/3 vote."""
from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Application, ReviewSession, Role, Score, SessionItem, SessionStatus
from ..tenancy.schema import ReviewGroup, Tier, WorkPlace
from .actors import Actor
from .errors import Forbidden, Invalid
from .transitions import audit

GENERAL = "general"
GROUP_LABELS = {
    GENERAL: _l("普通组"),
    ReviewGroup.enterprise.value: _l("专精特新中小企业、制造业单项冠军企业组"),
    ReviewGroup.non_public.value: _l("非公有制领域组"),
    ReviewGroup.county.value: _l("旗县区组"),
    ReviewGroup.township.value: _l("苏木乡镇组"),
}
ORDER = [GENERAL] + [g.value for g in ReviewGroup]
# 五(五)2: what these groups are judged on mainly, shown to the panel with the group.
INNOVATION = _l("本组以技术创新、专利发明、成果转化、技术推广、标准制定等方面的工作绩效和创新成果为主要评价指标。")
GROUP_NOTES = {ReviewGroup.enterprise.value: INNOVATION, ReviewGroup.non_public.value: INNOVATION}


def optional(cfg) -> list[str]:
    return [g.value for g in cfg.policies.optional_review_groups]


def formed(cfg, session: ReviewSession) -> set[str]:
    """The groups this session forms: the tenant's mandatory ones and the committee's choice."""
    chosen = set(session.local_groups or []) & set(optional(cfg))
    return {g.value for g in cfg.policies.review_groups} | chosen


def _latest_place(app: Application) -> str:
    latest = None
    for e in app.entries:
        data = e.data or {}
        if e.section != "work" or not data.get("place"):
            continue
        key = (data.get("end") or "9999", data.get("start") or "")
        if latest is None or key >= latest[0]:
            latest = (key, data["place"])
    return latest[1] if latest else ""


def group_of(cfg, groups: set[str], app: Application) -> str:
    """The group a file is reviewed in: enterprise honours first, then the non-public sector
    (its employer's kind, or a policy reviewed in a group of its own), then township and county
    units where the session forms those groups; otherwise the general group."""
    from .policies import group_label
    emp = app.employer
    if ReviewGroup.enterprise.value in groups and emp is not None and emp.enterprise_flags:
        return ReviewGroup.enterprise.value
    non_public = {k.value for k in cfg.policies.non_public_kinds}
    if ReviewGroup.non_public.value in groups and (
            (emp is not None and emp.employer_kind in non_public) or group_label(cfg, app)):
        return ReviewGroup.non_public.value
    place = _latest_place(app)
    if ReviewGroup.township.value in groups and place == WorkPlace.township.value:
        return ReviewGroup.township.value
    if ReviewGroup.county.value in groups and (
            place in (WorkPlace.county.value, WorkPlace.township.value)
            or (emp is not None and emp.tier == Tier.county.value)):
        return ReviewGroup.county.value
    return GENERAL


def assign(cfg, session: ReviewSession, app_ids: list[int] | None = None) -> None:
    """Set the group of the session's files (or of `app_ids` among them); one UPDATE per group.
    Not committed: part of the caller's change."""
    q = (sa.select(Application).join(SessionItem, SessionItem.application_id == Application.id)
         .where(SessionItem.session_id == session.id)
         .options(selectinload(Application.employer), selectinload(Application.entries)))
    if app_ids is not None:
        q = q.where(Application.id.in_(app_ids or [0]))
    groups = formed(cfg, session)
    by_group: dict[str, list[int]] = defaultdict(list)
    for app in db.session.scalars(q):
        by_group[group_of(cfg, groups, app)].append(app.id)
    for grp, ids in by_group.items():
        db.session.execute(sa.update(SessionItem).where(
            SessionItem.session_id == session.id, SessionItem.application_id.in_(ids))
            .values(grp=None if grp == GENERAL else grp)
            .execution_options(synchronize_session=False))


def choose(cfg, actor: Actor, session: ReviewSession, chosen: list[str]) -> None:
    """The committee office records which optional groups the session forms (五(四)6), before
    the panel is drawn; the files are regrouped."""
    if actor.role != Role.agency_clerk.value or actor.org_id != session.committee.agency_org_id:
        raise Forbidden(_l("无权进行此操作。"))
    if session.status != SessionStatus.draft.value:
        raise Invalid(_l("专家已抽取，不能再调整分组。"))
    allowed = optional(cfg)
    wanted = sorted(set(chosen))
    if not set(wanted) <= set(allowed):
        raise Invalid(_l("本地区不设此分组。"))
    session.local_groups = wanted
    db.session.flush()
    assign(cfg, session)
    audit(actor, "review_sessions", session.id, "groups", reason=",".join(wanted))
    db.session.commit()
    db.session.expire(session)


def _mean_scores(session: ReviewSession) -> dict[int, float]:
    """Each item's mean total score over the members who scored it, in one query."""
    rows = db.session.execute(
        sa.select(Score.item_id, Score.scores).join(SessionItem, SessionItem.id == Score.item_id)
        .where(SessionItem.session_id == session.id)).all()
    totals: dict[int, list[int]] = defaultdict(list)
    for item_id, scores in rows:
        totals[item_id].append(sum((scores or {}).values()))
    return {i: sum(v) / len(v) for i, v in totals.items()}


def table(session: ReviewSession, ranked: bool = True) -> list[dict]:
    """The session's files by group, in the tenant's order: each group with its files ranked
    (by yes votes once the tally is sealed, then by mean score; by mean score before), its count
    and how many passed. Unranked (a reviewer's ballot list: no one's scores show through), by
    code."""
    means = _mean_scores(session) if ranked else {}
    tally = (session.tally or {}).get("items", {})
    groups: dict[str, list[SessionItem]] = defaultdict(list)
    for it in session.items:
        groups[it.grp or GENERAL].append(it)
    out = []
    for grp in sorted(groups, key=lambda g: ORDER.index(g) if g in ORDER else len(ORDER)):
        items = sorted(groups[grp], key=lambda it: (-tally.get(it.code, {}).get("yes", 0),
                                                    -means.get(it.id, 0.0), it.code))
        out.append({"group": grp, "label": GROUP_LABELS.get(grp, grp),
                    "note": GROUP_NOTES.get(grp),
                    "rows": [{"rank": n, "item": it, "mean": means.get(it.id)}
                             for n, it in enumerate(items, start=1)],
                    "count": len(items),
                    "passed": sum(1 for it in items if it.result == "passed")})
    return out


def roster(cfg, session: ReviewSession):
    """The roster of passed applicants (通过人员花名册) as a workbook, one section per group with
    its count: the office prints, signs and reports it with the results (CF-RESULT-1)."""
    from flask_babel import gettext as _
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from ..spreadsheets import append
    from ..tenancy import label
    wb = Workbook()
    ws = wb.active
    ws.title = label(cfg.level(session.level))[:31] or session.level
    bold = Font(bold=True)
    append(ws, [_("%(c)s评审通过人员花名册（%(level)s）", c=label(session.committee),
                  level=label(cfg.level(session.level)))])
    append(ws, [_("评审日期：%(d)s", d=session.held_on.isoformat())])
    header = [_("序号"), _("编号"), _("姓名"), _("工作单位"), _("系列"), _("专业"), _("级别")]
    n = 0
    for grp in table(session):
        passed = [r["item"] for r in grp["rows"] if r["item"].result == "passed"]
        append(ws, [_("%(group)s（通过%(n)d人）", group=str(grp["label"]), n=len(passed))])
        ws.cell(ws.max_row, 1).font = bold
        append(ws, header)
        for it in passed:
            a = it.application
            n += 1
            unit = a.employer or a.association
            append(ws, [n, it.code, a.applicant.name, unit.name if unit else "",
                        label(cfg.series(a.series)),
                        label(cfg.specialty(a.series, a.specialty)) if a.specialty else "",
                        label(cfg.level(a.level))])
    ws.cell(1, 1).font = bold
    return wb
