"""Agency filing, the city HR bureau's agency register and assessment, the year's directory and
the yearly notices (AE-AGENCY-1, AE-SUPERV-1, AE-DUTY-1, BJ-DIR-1, CF-NOTICE-1)."""
import io
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from flask import abort, flash, g, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from . import bp
from .. import uploads
from ..extensions import db
from ..models import Committee, Org, Role
from ..models.agencies import AgencyFiling, YearlyNotice
from ..web import current_actor, flash_error, render_page
from ..workflow import agencies as svc
from ..workflow import directory, notices
from ..workflow.calendar import today_local
from ..workflow.errors import TransitionError

from ..spreadsheets import XLSX_MIME as XLSX


@bp.before_request
@login_required
def _signed_in():
    pass


def _city_hr_only() -> None:
    if not svc.is_city_hr(current_actor()):
        abort(403)


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.form.get(name, "")) if request.form.get(name) else None
    except ValueError:
        return None


def _year(default: int) -> int:
    y = request.values.get("year", type=int)
    return y if y and 2000 <= y <= 2100 else default


# -- the agency's own filing ---------------------------------------------------------------------

@bp.route("/filing", methods=["GET", "POST"])
def my_filing():
    """The agency applies to be filed (第十条), sees the outcome, corrects and resubmits."""
    if current_user.role != Role.agency_clerk.value:
        abort(403)
    filing = svc.filing_of(g.tenant_id, current_user.org_id)
    values = dict(request.form) if request.method == "POST" else {
        name: getattr(filing, name) for name, _t, _r in svc.FIELDS} if filing else {}
    if request.method == "POST":
        try:
            svc.submit_filing(g.tenant, current_actor(), request.form,
                              expected_version=request.form.get("version", type=int))
        except TransitionError as e:
            flash_error(e)
        else:
            flash(_("备案申请已提交，待市人力资源社会保障部门备案。"), "ok")
            return redirect(url_for(".my_filing"), 303)
    today = today_local()
    return render_page("agencies/my_filing.html", filing=filing, values=values,
                       fields=svc.FIELDS, labels=svc.STATUS_LABELS,
                       refused=svc.refusal(g.tenant_id, current_user.org_id, today),
                       suspension=svc.active_suspension(g.tenant_id, current_user.org_id))


@bp.route("/committees/<int:committee_id>/publish", methods=["GET", "POST"])
def committee_publish(committee_id):
    """What the agency publishes for a committee in the directory (AE-DUTY-1): conditions and
    materials (the procedure is the committee's filed one)."""
    if current_user.role != Role.agency_clerk.value:
        abort(403)
    c = db.session.get(Committee, committee_id)
    if c is None or c.tenant_id != g.tenant_id or c.agency_org_id != current_user.org_id:
        abort(404)
    if request.method == "POST":
        conditions = (request.form.get("conditions") or "").strip()
        materials = (request.form.get("materials") or "").strip()
        if len(conditions) > 4000 or len(materials) > 4000:
            flash(_("内容过长（不超过4000字）。"), "error")
        elif request.form.get("version", type=int) != c.version:
            flash(_("评委会信息已被他人更新，请刷新后重试。"), "error")
        else:
            c.conditions, c.materials = conditions, materials
            c.version += 1
            from ..workflow.transitions import audit
            audit(current_actor(), "committees", c.id, "publish_terms")
            db.session.commit()
            flash(_("已保存。"), "ok")
            return redirect(url_for("agency.committee_list"), 303)
    return render_page("agencies/committee_publish.html", committee=c)


# -- the city HR bureau: filings, standing, assessment --------------------------------------------

@bp.route("/filings")
def filings():
    """Every agency: its filing, standing, suspension and the year's assessment with the
    figures the data holds; filings to decide first."""
    _city_hr_only()
    today = today_local()
    year = _year(today.year)
    rows = svc.overview(g.tenant_id, year, today)
    pending = [r for r in rows if r["filing"] is not None and r["filing"].status == "submitted"]
    days = g.tenant.policies.agencies.expiry_warning_days
    expiring = db.session.scalars(sa.select(Committee).where(
        Committee.tenant_id == g.tenant_id, Committee.valid_until.is_not(None),
        Committee.valid_until >= today,
        Committee.valid_until <= date.fromordinal(today.toordinal() + days))
        .options(selectinload(Committee.agency)).order_by(Committee.valid_until)).all()
    return render_page("agencies/filings.html", rows=rows, pending=pending, year=year,
                       today=today, labels=svc.STATUS_LABELS, results=svc.RESULT_LABELS,
                       expiring=expiring, days=days)


def _filing(filing_id: int) -> AgencyFiling:
    f = db.session.get(AgencyFiling, filing_id)
    if f is None or f.tenant_id != g.tenant_id:
        abort(404)
    return f


@bp.route("/filings/<int:filing_id>")
def filing(filing_id):
    _city_hr_only()
    f = _filing(filing_id)
    today = today_local()
    years = g.tenant.policies.agencies.filing_years
    until = date(today.year + years, today.month, min(today.day, 28))
    return render_page("agencies/filing.html", f=f, fields=svc.FIELDS, labels=svc.STATUS_LABELS,
                       today=today, until=until, years=years)


@bp.route("/filings/<int:filing_id>/<action>", methods=["POST"])
def decide(filing_id, action):
    """File the agency, or return its application with reasons."""
    _city_hr_only()
    f = _filing(filing_id)
    if action not in ("file", "return"):
        abort(404)
    try:
        svc.decide_filing(g.tenant, current_actor(), f, action,
                          expected_version=request.form.get("version", type=int),
                          filed_on=_day("filed_on"), valid_until=_day("valid_until"),
                          reason=request.form.get("reason", ""))
    except TransitionError as e:
        flash_error(e)
        return redirect(url_for(".filing", filing_id=f.id), 303)
    flash(_("已备案。") if action == "file" else _("已退回。"), "ok")
    return redirect(url_for(".filings"), 303)


def _agency(agency_id: int) -> Org:
    o = db.session.get(Org, agency_id)
    if o is None or o.tenant_id != g.tenant_id or o.kind not in svc.AGENCY_KINDS:
        abort(404)
    return o


@bp.route("/register/<int:agency_id>/assess", methods=["POST"])
def assess(agency_id):
    """The year's assessment; a failing agency is suspended (第三十一条)."""
    _city_hr_only()
    o = _agency(agency_id)
    try:
        svc.assess(g.tenant, current_actor(), o, request.form.get("year", type=int) or 0,
                   request.form.get("result", ""), request.form.get("note", ""))
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("已记录考核结果。"), "ok")
    return redirect(url_for(".filings", year=request.form.get("year", type=int)), 303)


@bp.route("/register/<int:agency_id>/<action>", methods=["POST"])
def standing(agency_id, action):
    """Suspend an agency's reviews with a reason, or lift the suspension."""
    _city_hr_only()
    o = _agency(agency_id)
    if action not in ("suspend", "lift"):
        abort(404)
    try:
        (svc.suspend if action == "suspend" else svc.lift)(
            g.tenant, current_actor(), o, request.form.get("reason", ""))
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("已暂停该机构的评审工作。") if action == "suspend" else _("已恢复该机构的评审工作。"), "ok")
    return redirect(url_for(".filings"), 303)


# -- the directory --------------------------------------------------------------------------------

@bp.route("/directory", methods=["GET", "POST"])
def directory_admin():
    """Generate the year's directory from the filings, look it over, publish it."""
    _city_hr_only()
    today = today_local()
    year = _year(today.year)
    if request.method == "POST":
        try:
            directory.generate(g.tenant, current_actor(), year, today)
        except TransitionError as e:
            flash_error(e)
        else:
            flash(_("名录已生成，请核对后发布。"), "ok")
        return redirect(url_for(".directory_admin", year=year), 303)
    d = directory.of_year(g.tenant_id, year)
    _rows, excluded = directory.build_rows(g.tenant, g.tenant_id, year, today)
    draft = [directory.cells(g.tenant, r) for r in (d.draft_rows if d else [])]
    return render_page("agencies/directory.html", d=d, year=year, draft=draft,
                       excluded=excluded, columns=directory.columns())


@bp.route("/directory/<int:year>/publish", methods=["POST"])
def directory_publish(year):
    _city_hr_only()
    d = directory.of_year(g.tenant_id, year)
    try:
        if d is None:
            from ..workflow.errors import Invalid
            raise Invalid(_("请先生成名录。"))
        directory.publish(g.tenant, current_actor(), d, request.form.get("version", type=int))
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("名录已发布。"), "ok")
    return redirect(url_for(".directory_admin", year=year), 303)


# -- yearly notices -------------------------------------------------------------------------------

def _may_see_notices() -> tuple[bool, bool]:
    """(files notices, acknowledges them)"""
    org = db.session.get(Org, current_user.org_id) if current_user.org_id else None
    return notices.may_file(current_user, org), svc.is_city_hr(current_actor())


@bp.route("/notices", methods=["GET", "POST"])
def notices_page():
    """A filer's own notices and the form; the city HR bureau's list to acknowledge."""
    files, acks = _may_see_notices()
    if not (files or acks):
        abort(403)
    if request.method == "POST":
        if not files:
            abort(403)
        up = request.files.get("file")
        data = up.read() if up and up.filename else None
        try:
            notices.file_notice(g.tenant, current_actor(), year=request.form.get("year", type=int),
                                title=request.form.get("title", ""),
                                body=request.form.get("body", ""), issued_on=_day("issued_on"),
                                opens_on=_day("opens_on"), closes_on=_day("closes_on"),
                                filename=up.filename if up else "", data=data)
        except TransitionError as e:
            flash_error(e)
        else:
            flash(_("年度评审工作通知已报备，待市人力资源社会保障部门确认。"), "ok")
            return redirect(url_for(".notices_page"), 303)
    rows = notices.listed(g.tenant_id, org_id=None if acks else current_user.org_id)
    return render_page("agencies/notices.html", rows=rows, files=files, acks=acks,
                       labels=notices.STATUS_LABELS, form=request.form,
                       year=today_local().year)


def _notice(notice_id: int) -> YearlyNotice:
    n = db.session.get(YearlyNotice, notice_id)
    if n is None or n.tenant_id != g.tenant_id:
        abort(404)
    return n


@bp.route("/notices/<int:notice_id>/acknowledge", methods=["POST"])
def acknowledge_notice(notice_id):
    _city_hr_only()
    n = _notice(notice_id)
    try:
        notices.acknowledge(g.tenant, current_actor(), n)
    except TransitionError as e:
        flash_error(e)
    else:
        flash(_("已确认备案，通知已在公众页面列出。"), "ok")
    return redirect(url_for(".notices_page"), 303)


@bp.route("/notices/<int:notice_id>/file")
def notice_file(notice_id):
    """The notice's PDF, for its own office and the city HR bureau."""
    files, acks = _may_see_notices()
    if not (files or acks):
        abort(403)
    n = _notice(notice_id)
    if (not acks and n.org_id != current_user.org_id) or not n.stored_name:
        abort(404)
    return uploads.send_stored(g.tenant.slug, n.stored_name, mimetype=n.mime,
                               download_name=n.filename or "notice.pdf")


def xlsx_response(d):
    buf = io.BytesIO()
    directory.workbook(g.tenant, d).save(buf)
    buf.seek(0)
    return send_file(buf, download_name=f"{_('评审委员会名录')}-{d.year}.xlsx", mimetype=XLSX,
                     as_attachment=True, max_age=0)


@bp.route("/register/<int:agency_id>/committees", methods=["GET", "POST"])
def new_committee(agency_id):
    """Set up a committee for a filed agency (第十二条); the agency then files it (AE-COMM-1)."""
    _city_hr_only()
    o = _agency(agency_id)
    if request.method == "POST":
        try:
            c = svc.create_committee(
                g.tenant, current_actor(), o, name=request.form.get("name", ""),
                name_en=request.form.get("name_en", ""), series=request.form.get("series", ""),
                levels=request.form.getlist("levels"),
                specialties=request.form.getlist("specialties"))
        except TransitionError as e:
            flash_error(e)
        else:
            flash(_("评委会已设立，待评审服务机构备案评审标准、程序和专家名单。"), "ok")
            return redirect(url_for(".filings"), 303)
    existing = db.session.scalars(sa.select(Committee).filter_by(
        tenant_id=g.tenant_id, agency_org_id=o.id).order_by(Committee.id)).all()
    return render_page("agencies/new_committee.html", org=o, existing=existing,
                       filing=svc.filing_of(g.tenant_id, o.id), form=request.form)
