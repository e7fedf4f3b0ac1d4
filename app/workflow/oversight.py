"""The city HR bureau's oversight (办法 第五条, 第二十九至三十一条): per agency, committee or
county, the files by stage, what is overdue, returns and their reasons, objections, complaints
and re-checks with their outcomes, and the audit trail of any file. Every table is one grouped
query (a page of the returns list is one more), so the number of queries does not grow with the
rows; each table is also written to .xlsx.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import Application, AuditEvent, Committee, Org, PlanWindow, ReviewStep, Status, User
from ..models.oversight import Complaint, ComplaintOutcome, ComplaintStatus
from ..models.results import Objection, ObjectionStatus, Recheck
from ..spreadsheets import append
from . import complaints, supervision
from .calendar import TZ
from .transitions import action_label, status_label

if TYPE_CHECKING:
    from openpyxl import Workbook


BY = {"agency": _l("评审服务机构"), "committee": _l("评审委员会"), "county": _l("区县")}
TABLES = {"stages": _l("各环节申报数"), "overdue": _l("逾期事项"), "returns": _l("退回及原因"),
          "objections": _l("异议"), "complaints": _l("投诉举报"), "rechecks": _l("复查")}
STAGES = [s.value for s in Status]
RETURN_ACTIONS = ("return", "agency_return")
OFFICE_STAGES = ("employer_review", "tier_report")
PAGE_SIZE = 50
NONE_KEY = "—"

Employer = aliased(Org)
ComplaintEmployer = aliased(Org)


@dataclass
class Table:
    code: str
    title: object
    by: str
    headers: list
    rows: list = field(default_factory=list)   # [key label, value, ...]
    keys: list = field(default_factory=list)   # the key of each row (for links)
    total: int | None = None                  # rows in all pages, where paginated


# -- keys ------------------------------------------------------------------------------------------

def _key(by: str):
    if by == "committee":
        return Application.committee_id
    if by == "county":
        return Employer.district
    return Committee.agency_org_id


def _files(stmt, by: str):
    """Join what the key needs onto a statement over applications."""
    return (stmt.join(Committee, Committee.id == Application.committee_id)
            .outerjoin(Employer, Employer.id == Application.employer_org_id))


def _labels(cfg, by: str, keys) -> dict:
    keys = [k for k in keys if k is not None]
    if by == "county":
        out = {}
        for k in keys:
            d = cfg.district(k)
            out[k] = _label(d) if d is not None else k
        return out
    model = Committee if by == "committee" else Org
    rows = db.session.scalars(sa.select(model).where(model.id.in_(keys or [0]))).all()
    return {r.id: _label(r) for r in rows}


def _local(moment, fmt: str) -> str:
    """A stored UTC time as the tenant reads it (Asia/Shanghai)."""
    return moment.astimezone(TZ).strftime(fmt) if moment else ""


def _label(obj) -> str:
    from ..tenancy import label
    return label(obj)


def _pivot(cfg, table: Table, counts: dict, columns: list) -> Table:
    """Rows per key in the key's label order; the unassigned key last."""
    labels = _labels(cfg, table.by, counts)
    keys = sorted(counts, key=lambda k: (k is None, str(labels.get(k, k) or "")))
    for k in keys:
        values = [counts[k].get(c, 0) for c in columns]
        table.rows.append([labels.get(k, NONE_KEY) if k is not None else NONE_KEY, *values])
        table.keys.append(k)
    if keys:
        table.rows.append([_l("合计"), *[sum(counts[k].get(c, 0) for k in keys)
                                       for c in columns]])
        table.keys.append(None)
    return table


def _grouped(stmt) -> dict:
    out: dict = {}
    for key, col, n in db.session.execute(stmt):
        out.setdefault(key, {})
        out[key][col] = out[key].get(col, 0) + (n or 0)
    return out


# -- the tables --------------------------------------------------------------------------------------

def stages(cfg, tenant_id: int, by: str, today: date) -> Table:
    key = _key(by)
    stmt = _files(sa.select(key, Application.status, sa.func.count(Application.id))
                  .select_from(Application), by).where(
        Application.tenant_id == tenant_id).group_by(key, Application.status)
    counts = _grouped(stmt)
    used = [s for s in STAGES if any(s in c for c in counts.values())]
    table = Table("stages", TABLES["stages"], by,
                  [BY[by], *[status_label(s) for s in used], _l("合计")])
    _pivot(cfg, table, counts, used)
    for row in table.rows:
        row.append(sum(v for v in row[1:] if isinstance(v, int)))
    return table


def _close_of(stages_: tuple[str, ...]):
    return (sa.select(sa.func.max(PlanWindow.closes_on))
            .where(PlanWindow.plan_id == Application.plan_id, PlanWindow.stage.in_(stages_))
            .scalar_subquery())


def overdue(cfg, tenant_id: int, by: str, today: date) -> Table:
    """Files still held by an office after its stage closed, corrections past their due day
    (the close job abandons them: a count here means it has not run), complaints past theirs."""
    key = _key(by)
    office_close, agency_close = _close_of(OFFICE_STAGES), _close_of(("agency_check",))
    held = (Application.status.in_((Status.submitted.value, Status.in_notice.value)))
    late_held = sa.or_(
        sa.and_(held, Application.correction_due.is_(None), office_close < today),
        sa.and_(held, Application.correction_due.is_not(None), agency_close < today),
        sa.and_(Application.status == Status.recommended.value, agency_close < today))
    late_fix = sa.and_(Application.status == Status.returned.value,
                       Application.correction_due < today)
    stmt = _files(sa.select(
        key, sa.func.sum(sa.case((late_held, 1), else_=0)),
        sa.func.sum(sa.case((late_fix, 1), else_=0))).select_from(Application), by).where(
        Application.tenant_id == tenant_id, sa.or_(late_held, late_fix)).group_by(key)
    counts: dict = {}
    for k, h, fix in db.session.execute(stmt):
        counts[k] = {"held": h or 0, "corrections": fix or 0}
    ckey = _complaint_key(by)
    cstmt = _complaints(sa.select(ckey, sa.func.count(Complaint.id))).where(
        Complaint.tenant_id == tenant_id, Complaint.status == ComplaintStatus.open.value,
        Complaint.due_on < today).group_by(ckey)
    for k, n in db.session.execute(cstmt):
        counts.setdefault(k, {})["complaints"] = n
    table = Table("overdue", TABLES["overdue"], by,
                  [BY[by], _l("逾期未办结的申报"), _l("逾期未补正的申报"), _l("逾期未答复的投诉举报")])
    return _pivot(cfg, table, counts, ["held", "corrections", "complaints"])


def returns(cfg, tenant_id: int, by: str, today: date, page: int | None = 1) -> Table:
    """Every return (by an office or the agency) with its reasons, newest first; a page at a
    time on screen (page None: all, for the export)."""
    key = _key(by)
    base = _files(sa.select(ReviewStep, Application.id, User.name, key).select_from(ReviewStep)
                  .join(Application, Application.id == ReviewStep.application_id), by).join(
        User, User.id == Application.applicant_id).where(
        Application.tenant_id == tenant_id, ReviewStep.action.in_(RETURN_ACTIONS))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(base.subquery()))
    q = base.order_by(ReviewStep.at.desc(), ReviewStep.id.desc()).options(
        sa.orm.selectinload(ReviewStep.org))
    if page is not None:
        q = q.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    rows = db.session.execute(q).all()
    labels = _labels(cfg, by, {r[3] for r in rows})
    table = Table("returns", TABLES["returns"], by,
                  [BY[by], _l("申报编号"), _l("申报人"), _l("退回时间"), _l("退回单位"), _l("环节"),
                   _l("退回原因")], total=total)
    for step, app_id, name, k in rows:
        reasons = "；".join(filter(None, [step.opinion, *(i.get("text", "") for i in step.items)]))
        table.rows.append([labels.get(k, NONE_KEY) if k is not None else NONE_KEY, app_id, name,
                           _local(step.at, "%Y-%m-%d %H:%M"),
                           _label(step.org) if step.org else "", action_label(step.action),
                           reasons])
        table.keys.append(app_id)
    return table


def objections(cfg, tenant_id: int, by: str, today: date) -> Table:
    key = _key(by)
    stmt = _files(sa.select(key, Objection.status, sa.func.count(Objection.id))
                  .select_from(Objection)
                  .join(Application, Application.id == Objection.application_id), by).where(
        Objection.tenant_id == tenant_id).group_by(key, Objection.status)
    cols = [s.value for s in (ObjectionStatus.refused, ObjectionStatus.open,
                              ObjectionStatus.upheld, ObjectionStatus.rejected)]
    table = Table("objections", TABLES["objections"], by,
                  [BY[by], _l("不予受理"), _l("核查中"), _l("异议成立"), _l("异议不成立")])
    return _pivot(cfg, table, _grouped(stmt), cols)


def _complaint_key(by: str):
    if by == "committee":
        return Application.committee_id
    if by == "county":
        return sa.func.coalesce(Employer.district, ComplaintEmployer.district)
    return sa.func.coalesce(Committee.agency_org_id, Complaint.agency_org_id)


def _complaints(stmt):
    return (stmt.select_from(Complaint)
            .outerjoin(Application, Application.id == Complaint.application_id)
            .outerjoin(Committee, Committee.id == Application.committee_id)
            .outerjoin(Employer, Employer.id == Application.employer_org_id)
            .outerjoin(ComplaintEmployer, ComplaintEmployer.id == Complaint.employer_org_id))


def complaint_counts(cfg, tenant_id: int, by: str, today: date) -> Table:
    key = _complaint_key(by)
    state = sa.case(
        (Complaint.status == ComplaintStatus.refused.value, "refused"),
        (sa.and_(Complaint.status == ComplaintStatus.open.value, Complaint.due_on < today),
         "overdue"),
        (Complaint.status == ComplaintStatus.open.value, "open"),
        (Complaint.outcome == ComplaintOutcome.founded.value, "founded"),
        else_="unfounded")
    stmt = _complaints(sa.select(key, state, sa.func.count(Complaint.id))).where(
        Complaint.tenant_id == tenant_id).group_by(key, state)
    table = Table("complaints", TABLES["complaints"], by,
                  [BY[by], _l("不予受理"), _l("办理中"), _l("逾期未答复"), _l("情况属实"),
                   _l("情况不属实")])
    return _pivot(cfg, table, _grouped(stmt),
                  ["refused", "open", "overdue", "founded", "unfounded"])


def rechecks(cfg, tenant_id: int, by: str, today: date) -> Table:
    key = _key(by)
    state = sa.case((Recheck.answered_at.is_(None), "waiting"),
                    (Recheck.tally_matches.is_(True), "matches"), else_="differs")
    stmt = _files(sa.select(key, state, sa.func.count(Recheck.id)).select_from(Recheck)
                  .join(Application, Application.id == Recheck.application_id), by).where(
        Recheck.tenant_id == tenant_id).group_by(key, state)
    table = Table("rechecks", TABLES["rechecks"], by,
                  [BY[by], _l("待答复"), _l("复查与封存结果一致"), _l("复查与封存结果不一致")])
    return _pivot(cfg, table, _grouped(stmt), ["waiting", "matches", "differs"])


BUILDERS = {"stages": stages, "overdue": overdue, "objections": objections,
            "complaints": complaint_counts, "rechecks": rechecks}


def table(cfg, tenant_id: int, code: str, by: str, today: date, page: int | None = 1) -> Table:
    if code == "returns":
        return returns(cfg, tenant_id, by, today, page)
    return BUILDERS[code](cfg, tenant_id, by, today)


# -- the audit trail of a file ------------------------------------------------------------------------

def trail(app: Application) -> list[AuditEvent]:
    """Every audit event of the file and of what was lodged about it (objections, re-checks,
    complaints), oldest first: one query."""
    def about(model):
        return sa.select(model.id).where(model.application_id == app.id)
    rows = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.tenant_id == app.tenant_id,
        sa.or_(sa.and_(AuditEvent.subject_type == "applications", AuditEvent.subject_id == app.id),
               sa.and_(AuditEvent.subject_type == "objections",
                       AuditEvent.subject_id.in_(about(Objection))),
               sa.and_(AuditEvent.subject_type == "rechecks",
                       AuditEvent.subject_id.in_(about(Recheck))),
               sa.and_(AuditEvent.subject_type == "complaints",
                       AuditEvent.subject_id.in_(about(Complaint)))))
        .order_by(AuditEvent.at, AuditEvent.id)).all()
    return rows


SUBJECTS = {"applications": _l("申报"), "objections": _l("异议"), "rechecks": _l("复查"),
            "complaints": _l("投诉举报")}


def trail_table(app: Application) -> Table:
    t = Table("trail", _l("审计记录"), "", [_l("时间"), _l("对象"), _l("操作"), _l("操作人"),
                                             _l("角色"), _l("原状态"), _l("新状态"), _l("说明")])
    for e in trail(app):
        t.rows.append([_local(e.at, "%Y-%m-%d %H:%M:%S"),
                       f"{SUBJECTS.get(e.subject_type, e.subject_type)} #{e.subject_id}",
                       action_label(e.action), e.actor_name, e.actor_role,
                       status_label(e.from_state) if e.from_state else "",
                       status_label(e.to_state) if e.to_state else "", e.reason])
    return t


def workbook(t: Table, title: str) -> Workbook:
    """One sheet: the table's title, its headers and rows (text never read as a formula)."""
    from openpyxl import Workbook  # only here: a large import most processes never need
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31] or "sheet"
    append(ws, [str(h) for h in t.headers])
    for row in t.rows:
        append(ws, [v if isinstance(v, (int, float)) else str(v) for v in row])
    return wb


def complaints_table(rows: list[Complaint], today: date) -> Table:
    t = Table("complaint_list", TABLES["complaints"], "",
              [_l("查询码"), _l("类别"), _l("举报对象"), _l("受理情况"), _l("转办单位"),
               _l("答复期限"), _l("核查结论"), _l("答复")])
    for c in rows:
        state = complaints.STATUS_LABELS.get(c.status, c.status)
        if complaints.overdue(c, today):
            state = _l("逾期未答复")
        t.rows.append([c.code, complaints.KINDS.get(c.kind, c.kind), c.target,
                       c.refusal_reason or state, _label(c.routed_to) if c.routed_to else "",
                       c.due_on.isoformat() if c.due_on else "",
                       complaints.OUTCOME_LABELS.get(c.outcome, "") if c.outcome else "",
                       c.answer])
        t.keys.append(c.id)
    return t


# -- the home page -------------------------------------------------------------------------------------

def waiting(user, today: date) -> list[dict]:
    """What waits for the user in this part: complaints to answer (their office's, and for the
    city HR bureau those overdue anywhere) and sessions to supervise. At most three queries."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return complaints.waiting_items(user, today) + supervision.waiting_items(user, today)
