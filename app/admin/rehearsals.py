"""Rehearsals of the tenant's year (app/rehearsal): a tenant admin starts one for a year; it runs
as a job (progress on the page while it runs), and its report is shown as a page and given as a
spreadsheet."""
import sqlalchemy as sa
from flask import Response, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from . import bp
from ..extensions import db
from ..jobs import rehearsal as job
from ..jobs.reports import progress_of
from ..models import JobRun, Role
from ..rehearsal import SIZES
from ..rehearsal.report import SEVERITY_LABELS, STAGES, cause_label, stage_label, workbook
from ..spreadsheets import XLSX_MIME
from ..web import render_page
from ..workflow.calendar import today_local


SIZE_LABELS = {"tiny": _l("最小（每个级别一份）"), "small": _l("精简（每个系列一份）"),
               "full": _l("完整（每类单位各一份）")}


def _admin_only() -> None:
    if current_user.role != Role.tenant_admin.value:
        abort(403)


def _run(run_id: int) -> JobRun:
    run = db.session.scalar(sa.select(JobRun).filter_by(id=run_id, tenant_id=g.tenant_id,
                                                        name=job.NAME))
    if run is None:
        abort(404)
    return run


def _years() -> list[int]:
    return sorted({p.year for p in g.tenant.plans.plan}) or [today_local().year]


@bp.route("/rehearsals", methods=["GET", "POST"])
def rehearsals():
    """The rehearsals run so far, and the form that starts one."""
    _admin_only()
    if request.method == "POST":
        year, size = request.form.get("year", type=int), request.form.get("size", "small")
        if year not in _years() or size not in SIZES:
            flash(_("请选择有申报计划的年度和演练规模。"), "error")
            return redirect(url_for(".rehearsals"), 303)
        run = JobRun(tenant_id=g.tenant_id, name=job.NAME, status="queued",
                     key=f"rehearsal:{g.tenant_id}:{year}:{size}")
        db.session.add(run)
        db.session.commit()
        job.enqueue(g.tenant.slug, year, size, run)
        return redirect(url_for(".rehearsal", run_id=run.id), 303)
    runs = db.session.scalars(sa.select(JobRun).filter_by(tenant_id=g.tenant_id, name=job.NAME)
                              .order_by(JobRun.id.desc()).limit(30)).all()
    return render_page("admin/rehearsals.html", runs=runs, years=_years(), sizes=SIZES,
                       size_labels=SIZE_LABELS)


@bp.route("/rehearsals/<int:run_id>")
def rehearsal(run_id):
    """One rehearsal: its progress while it runs (asked again every 2 s), then its report."""
    _admin_only()
    run = _run(run_id)
    done, total = progress_of(run)
    report = job.load_report(g.tenant.slug, run.id) if run.status == "finished" else None
    return render_page("admin/rehearsal.html", "admin/_rehearsal.html", run=run, done=done,
                       total=total, report=report, stage_label=stage_label,
                       cause_label=cause_label, stages=STAGES,
                       severity_label=lambda s: SEVERITY_LABELS.get(s, s))


@bp.route("/rehearsals/<int:run_id>/report.xlsx")
def rehearsal_xlsx(run_id):
    """The report as a spreadsheet."""
    _admin_only()
    run = _run(run_id)
    report = job.load_report(g.tenant.slug, run.id)
    if report is None:
        abort(404)
    name = f"rehearsal-{report['tenant']}-{report['year']}-{run.id}.xlsx"
    return Response(workbook(report), mimetype=XLSX_MIME,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
