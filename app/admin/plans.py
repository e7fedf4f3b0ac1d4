"""The plans page: each stage window, when its close runs and the state of its job; a tenant
admin moves a window's closing date, and its job is rescheduled."""
import sqlalchemy as sa
from flask import abort, flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from . import bp
from .forms import CloseDateForm
from ..extensions import db
from ..jobs.deadlines import reschedule, scheduled_jobs
from ..models import Plan, Role
from ..web import client_ip, flash_error, render_page
from ..workflow import queries
from ..workflow.actors import Actor
from ..workflow.calendar import closes_at, missing_years
from ..workflow.deadlines import CLOSES
from ..workflow.errors import TransitionError
from ..workflow.plans import change_close, stage_label

JOB_STATUS_LABELS = {
    "scheduled": _l("已排定"), "queued": _l("排队中"), "deferred": _l("排队中"),
    "started": _l("运行中"), "finished": _l("已完成"), "failed": _l("失败"),
    "early": _l("未到截止时间"), "canceled": _l("已取消"), "stopped": _l("已取消"),
    "missing": _l("未排定"), "unknown": _l("任务队列无法连接"),
}


@bp.route("/plans")
def plans():
    """Every plan's windows with the instant its close runs and the state of that job."""
    jobs = {(j["plan"], j["stage"]): j for j in scheduled_jobs(g.tenant_id)}
    return render_page("admin/plans.html", plans=queries.plans(g.tenant_id), jobs=jobs,
                       form=CloseDateForm(), closes_at=closes_at, stage_label=stage_label,
                       status_label=lambda s: JOB_STATUS_LABELS.get(s, s),
                       may_change=current_user.role == Role.tenant_admin.value,
                       closing_stages=CLOSES, missing_years=missing_years(g.tenant))


@bp.route("/plans/<int:plan_id>/<stage>/close", methods=["POST"])
def move_close(plan_id, stage):
    """Move one window's closing date; the close's job follows it to the new instant."""
    plan = db.session.scalar(sa.select(Plan).filter_by(id=plan_id, tenant_id=g.tenant_id))
    if plan is None or plan.window(stage) is None:
        abort(404)
    form = CloseDateForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for e in errors:
                flash(e, "error")
        return redirect(url_for(".plans"), 303)
    try:
        change_close(Actor.of(current_user, client_ip()), plan, stage, form.closes_on.data)
    except TransitionError as e:
        flash_error(e)
    else:
        reschedule(plan, stage)
        flash(_("截止日期已修改，截止任务已按新的时间重新排定。"), "ok")
    return redirect(url_for(".plans"), 303)
