"""Tier reports (CF-REPORT-1): for what one office has forwarded in one plan, the recommendation
report (推荐报告) as a PDF, the 花名册 as one .xlsx per level — grouped by series, then
specialty — and the 岗位数及申报人数统计表. Each row carries who reviewed it for this office, their
opinion and the date (CF-UNIT-1)."""
from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from typing import Callable

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Application, JobRun, Org, Plan, ReviewStep, utcnow
from ..models.reports import TierReport
from ..spreadsheets import XLSX_MIME, append
from ..tenancy import label
from . import policies, quotas
from .calendar import now_local
from .paper import RECORD_LOCALE, facts, record_pdf

ROSTER, STATISTICS, REPORT = "roster", "statistics", "report"
MIMETYPES = {".xlsx": XLSX_MIME,
             ".pdf": "application/pdf"}


def run_key(org_id: int, plan_id: int) -> str:
    return f"report:{org_id}:{plan_id}"


def forwarded(tenant_id: int, org_id: int, plan_id: int) -> list[tuple[Application, ReviewStep]]:
    """Each file of the plan this office has recommended onwards, with its latest such step."""
    rows = db.session.execute(
        sa.select(Application, ReviewStep)
        .join(ReviewStep, ReviewStep.application_id == Application.id)
        .options(selectinload(Application.applicant), selectinload(Application.employer),
                 selectinload(Application.association), selectinload(Application.entries),
                 selectinload(Application.plan), selectinload(Application.committee))
        .where(Application.tenant_id == tenant_id, Application.plan_id == plan_id,
               ReviewStep.org_id == org_id, ReviewStep.action == "recommend")
        .order_by(ReviewStep.at, ReviewStep.id)).all()
    latest: dict[int, tuple[Application, ReviewStep]] = {}
    for a, step in rows:
        latest[a.id] = (a, step)
    return list(latest.values())


def _order(cfg):
    """Sort keys following the tenant file: files of a policy's own group after the ordinary
    ones, then series, then specialty."""
    series = {s.code: i for i, s in enumerate(cfg.tenant.series)}
    groups = {p.code: i for i, p in enumerate(cfg.policies.policy)}

    def key(a: Application):
        s = cfg.series(a.series)
        specs = [sp.code for sp in (s.specialties if s else [])]
        spec = specs.index(a.specialty) if a.specialty in specs else len(specs)
        # Files reviewed in a group of their own (CF-POL-5) come after the ordinary ones.
        group = groups[a.policy] + 1 if policies.group_label(cfg, a) else 0
        return (group, series.get(a.series, len(series)), spec, a.specialty or "")
    return key


def _specialty_name(cfg, a: Application) -> str:
    return label(cfg.specialty(a.series, a.specialty)) if a.specialty else ""


def _unit_name(a: Application) -> str:
    org = a.employer or a.association
    return org.name if org else ""


def _save(content: Workbook | bytes, slug: str) -> str:
    """Store a workbook or a PDF under a random name; return that name."""
    folder = path_of(slug, "")
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(content, Workbook):
        name = f"{uuid.uuid4().hex}.xlsx"
        content.save(folder / name)
    else:
        name = f"{uuid.uuid4().hex}.pdf"
        (folder / name).write_bytes(content)
    return name


def path_of(slug: str, stored_name: str) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / slug / "reports" / stored_name


def mimetype_of(report: TierReport) -> str:
    return MIMETYPES[Path(report.stored_name).suffix]


def _header() -> list[str]:
    """Columns of the list of forwarded people, in the roster and in the report alike."""
    return [_("序号"), _("姓名"), _("工作单位"), _("系列"), _("专业"), _("申报级别"), _("推荐意见"),
            _("审核人"), _("审核日期")]


def _person(cfg, a: Application, step: ReviewStep) -> list:
    """One forwarded file under `_header()` (without the number): this office's step on it."""
    return [a.applicant.name, _unit_name(a), label(cfg.series(a.series)), _specialty_name(cfg, a),
            label(cfg.level(a.level)), step.opinion, step.reviewer_name,
            now_local(step.at).date().isoformat()]


def _roster_header() -> list[str]:
    """The 花名册's columns: the person, the title held, what is applied for and how, and this
    office's recommendation with its reviewer and date (CF-REPORT-1, CF-UNIT-1)."""
    return [_("序号"), _("姓名"), _("性别"), _("出生日期"), _("工作单位"), _("学历"), _("现职称"),
            _("取得现职称日期"), _("系列"), _("专业"), _("申报级别"), _("评审方式"), _("申报政策"),
            _("推荐意见"), _("审核人"), _("审核日期")]


def _roster_row(cfg, a: Application, step: ReviewStep) -> list:
    """One forwarded file under `_roster_header()` (without the number)."""
    x = facts(cfg, a)
    return [x["name"], x["gender"], x["birth_date"], x["unit"], x["education"],
            x["current_title"], x["title_on"], x["series"], x["specialty"], x["level"], x["mode"],
            x["policy"], step.opinion, step.reviewer_name, now_local(step.at).date().isoformat()]


ROSTER_WIDTHS = (6, 10, 6, 12, 28, 12, 14, 14, 10, 12, 10, 22, 20, 30, 10, 12)


def _roster(cfg, org: Org, plan: Plan, level: str, items, tick) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = label(cfg.level(level))[:31] or level
    bold = Font(bold=True)
    append(ws, [_("%(plan)s申报职称评审人员花名册（%(level)s）", plan=label(plan),
                 level=label(cfg.level(level)))])
    append(ws, [_("报送单位：%(org)s", org=label(org))])
    append(ws, _roster_header())
    for cell in ws[1] + ws[3]:
        cell.font = bold
    n, group, series, specialty = 0, None, object(), object()
    for a, step in items:
        own_group = policies.group_label(cfg, a)
        if own_group != group:
            group, series, specialty = own_group, object(), object()
            append(ws, [_("单独分组：%(name)s", name=group)])
            ws.cell(ws.max_row, 1).font = bold
        if a.series != series:
            series, specialty = a.series, object()
            append(ws, [_("系列：%(name)s", name=label(cfg.series(a.series)))])
            ws.cell(ws.max_row, 1).font = bold
        if a.specialty != specialty:
            specialty = a.specialty
            if a.specialty:  # a series without specialties has no specialty groups
                append(ws, [_("专业：%(name)s", name=_specialty_name(cfg, a))])
                ws.cell(ws.max_row, 1).font = bold
        n += 1
        append(ws, [n, *_roster_row(cfg, a, step)])
        tick()
    for i, width in enumerate(ROSTER_WIDTHS, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    # Printed on A4 landscape, the header row repeated on every page.
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "3:3"
    return wb


def _statistics(cfg, org: Org, plan: Plan, items) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = _("统计表")
    append(ws, [_("%(plan)s岗位数及申报人数统计表", plan=label(plan))])
    append(ws, [_("报送单位：%(org)s", org=label(org))])
    rank = {lv.code: lv.rank for lv in cfg.tenant.levels}
    # By unit and level: the posts the unit declared (CF-POL-9; blank where it declares none)
    # beside the files forwarded.
    append(ws, [_("序号"), _("工作单位"), _("申报级别"), _("岗位数"), _("现聘人数"), _("空缺岗位数"),
               _("申报人数")])
    posts = quotas.posts_by_unit_level(plan.tenant_id, plan.year)
    units = Counter((a.employer_org_id, _unit_name(a), a.level) for a, _step in items)
    for i, (org_id, unit, level) in enumerate(
            sorted(units, key=lambda k: (k[1], -rank.get(k[2], 0))), 1):
        declared = posts.get((org_id, level))
        figures = [*declared, max(declared[0] - declared[1], 0)] if declared else [None] * 3
        append(ws, [i, unit, label(cfg.level(level)), *figures, units[(org_id, unit, level)]])
    append(ws, [None, _("合计"), None, None, None, None, len(items)])
    for cell in ws[1] + ws[3]:
        cell.font = Font(bold=True)
    for col, width in zip("ABCDEFG", (6, 28, 12, 10, 10, 12, 10)):
        ws.column_dimensions[col].width = width
    _by_series(cfg, wb.create_sheet(_("按系列")), items, rank)
    return wb


def _by_series(cfg, ws, items, rank) -> None:
    append(ws, [_("序号"), _("系列"), _("申报级别"), _("申报人数")])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    counts = Counter((a.series, a.level) for a, _step in items)
    series_order = [s.code for s in cfg.tenant.series]
    keys = sorted(counts, key=lambda k: (series_order.index(k[0]) if k[0] in series_order
                                         else len(series_order), -rank.get(k[1], 0)))
    for i, (series, level) in enumerate(keys, 1):
        append(ws, [i, label(cfg.series(series)), label(cfg.level(level)), counts[(series, level)]])
    append(ws, [None, _("合计"), None, sum(counts.values())])


def _recommendation(cfg, org: Org, plan: Plan, groups) -> bytes:
    """The 推荐报告 as a PDF: how many this office forwards per level and series, who they are
    with this office's opinion, reviewer and date, and the block it is signed and sealed in."""
    with force_locale(RECORD_LOCALE):
        levels = [{"name": label(cfg.level(level)), "count": len(rows),
                   "series": [(label(cfg.series(code)), n)
                              for code, n in Counter(a.series for a, _step in rows).items()]}
                  for level, rows in groups]
        return record_pdf(
            "office/pdf_report.html", org=label(org), plan=label(plan), year=plan.year,
            today=now_local().date(), levels=levels, header=_header(),
            people=[_person(cfg, a, step) for _level, rows in groups for a, step in rows])


def generate(cfg, slug: str, tenant_id: int, org_id: int, plan_id: int, *,
             run: JobRun | None = None,
             progress: Callable[[int, int], None] | None = None) -> list[TierReport]:
    """Write the rosters (one per level of the plan with forwarded files), the recommendation
    report and the statistics table; record each as a TierReport. `progress(done, total)` is
    called as rows are written."""
    org = db.session.get(Org, org_id)
    plan = db.session.get(Plan, plan_id)
    if org is None or plan is None or org.tenant_id != tenant_id or plan.tenant_id != tenant_id:
        raise LookupError("office or plan not in this tenant")
    order = _order(cfg)
    items = sorted(forwarded(tenant_id, org_id, plan_id), key=lambda r: order(r[0]))
    total, done = len(items), 0

    def tick():
        nonlocal done
        done += 1
        if run is not None:
            run.rows_changed = done
        if progress:
            progress(done, total)
    if progress:
        progress(0, total)
    rank = {lv.code: lv.rank for lv in cfg.tenant.levels}
    levels = sorted({a.level for a, _step in items}, key=lambda lv: -rank.get(lv, 0))
    groups = [(level, [r for r in items if r[0].level == level]) for level in levels]

    def archived(kind: str, level: str | None, filename: str, content, rows: int) -> TierReport:
        return TierReport(tenant_id=tenant_id, org_id=org_id, plan_id=plan_id, kind=kind,
                          level=level, filename=filename, stored_name=_save(content, slug),
                          rows=rows, job_run_id=run.id if run else None)
    made = [archived(ROSTER, level, f"{plan.name}-{_('花名册')}-{label(cfg.level(level))}.xlsx",
                     _roster(cfg, org, plan, level, rows, tick), len(rows))
            for level, rows in groups]
    made.append(archived(REPORT, None, f"{plan.name}-{_('推荐报告')}.pdf",
                         _recommendation(cfg, org, plan, groups), total))
    made.append(archived(STATISTICS, None, f"{plan.name}-{_('岗位数及申报人数统计表')}.xlsx",
                         _statistics(cfg, org, plan, items), total))
    db.session.add_all(made)
    return made


def start_run(tenant_id: int, org_id: int, plan_id: int) -> JobRun | None:
    """A queued JobRun for a new generation; None while one for the same office and plan is
    still queued or running."""
    busy = db.session.scalar(sa.select(JobRun).where(
        JobRun.tenant_id == tenant_id, JobRun.key == run_key(org_id, plan_id),
        JobRun.status.in_(("queued", "running"))))
    if busy is not None:
        return None
    run = JobRun(tenant_id=tenant_id, name="tier_report", key=run_key(org_id, plan_id),
                 status="queued", started_at=utcnow())
    db.session.add(run)
    db.session.commit()
    return run


def runs_of(tenant_id: int, org_id: int, limit: int = 10) -> list[JobRun]:
    return db.session.scalars(sa.select(JobRun).where(
        JobRun.tenant_id == tenant_id, JobRun.key.like(f"report:{org_id}:%"))
        .order_by(JobRun.id.desc()).limit(limit)).all()


def archive(tenant_id: int, org_id: int) -> list[TierReport]:
    """Every report this office has generated, newest first."""
    return db.session.scalars(sa.select(TierReport).filter_by(tenant_id=tenant_id, org_id=org_id)
                              .order_by(TierReport.id.desc())).all()


def report_of(tenant_id: int, org_id: int, report_id: int) -> TierReport | None:
    return db.session.scalar(sa.select(TierReport).filter_by(id=report_id, tenant_id=tenant_id,
                                                             org_id=org_id))
