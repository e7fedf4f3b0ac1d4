"""The office lists' page: the filter form, the list with its next actions and deadlines, the
counts per status and the pager, shared by every office that holds files (employer, department,
HR bureau, association, agency). The query is app/workflow/inbox.py's; this module turns the
URL into `Filters`, the tenant's config into the form's choices, and each row into what the
office does next. A fixed number of queries whatever the number of rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable

import sqlalchemy as sa
from flask import g, redirect, request, url_for
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape

from . import pagecache
from .extensions import db, htmx
from .models import Application, Org, Plan, Role, Status
from .models.plans import ReviewMode
from .tenancy import label, labeller
from .tenancy.schema import StepKind
from .web import render_page
from .workflow import inbox
from .workflow.calendar import today_local
from .workflow.paper import MODE_LABELS
from .workflow.policies import ORDINARY

# The statuses an office list offers, in the workflow's order; others appear when held.
OFFICE_STATUSES = (Status.submitted.value, Status.in_notice.value)
AGENCY_STATUSES = (Status.recommended.value, Status.checked.value, Status.paid.value,
                   Status.in_review.value)
SORT_LABELS = {"submitted": _l("提交时间"), "updated": _l("最近更新"), "name": _l("姓名"),
               "due": _l("截止日期")}


@dataclass(frozen=True)
class Next:
    """What the holding office does next with a file."""
    text: str
    waiting: bool = False   # the office waits for someone else (the applicant, the notice)


def next_action(app: Application, today: date, fee_required: bool,
                renotice_after_return: bool) -> Next | None:
    """The holding office's next step, from the file's status, its notice dates and the kind of
    its current route step (all on the row: no query)."""
    status = app.status
    step = app.current_step
    kind = step.get("kind") if step else None
    if status == Status.submitted.value:
        renotice = not app.correction_due or renotice_after_return
        if kind == StepKind.employer.value and renotice:
            return Next(gettext("审核并开始公示"))
        return Next(gettext("审核并推荐"))
    if status == Status.in_notice.value:
        if app.notice_ends_on is not None and today <= app.notice_ends_on:
            return Next(gettext("公示中（至%(d)s）", d=app.notice_ends_on.isoformat()), True)
        return Next(gettext("公示期满待推荐"))
    if status == Status.recommended.value:
        return Next(gettext("审核材料"))
    if status == Status.checked.value:
        return Next(gettext("待申报人缴费"), True) if fee_required else \
            Next(gettext("安排评审会"))
    if status == Status.paid.value:
        return Next(gettext("安排评审会"))
    if status == Status.in_review.value:
        return Next(gettext("评审中"), True)
    return None


def countdown(due: date | None, today: date) -> tuple[str, str] | None:
    """The deadline countdown and its tone ("late", "soon" or ""): 剩N天, 今天截止, 逾期N天."""
    if due is None:
        return None
    days = (due - today).days
    if days < 0:
        return gettext("逾期%(n)d天", n=-days), "late"
    if days == 0:
        return gettext("今天截止"), "soon"
    return gettext("剩%(n)d天", n=days), "soon" if days <= 3 else ""


def _units(org_id: int, unit: int | None) -> list[tuple[int, str]]:
    """The employers of the files this office holds (one query). An employer holds its own
    staff's files only: a single unit, nothing to choose, so no query unless one is asked for."""
    if current_user.role == Role.employer_clerk.value and unit is None:
        return []
    rows = db.session.execute(
        sa.select(Org.id, Org.name, Org.name_en)
        .where(Org.id.in_(sa.select(Application.employer_org_id).where(
            Application.tenant_id == g.tenant_id, Application.holder_org_id == org_id)))
        .order_by(Org.name, Org.id)).all()
    return [(r.id, label(r)) for r in rows]


# The rows are the only part of an office list that grows with its length, so they are made
# here with one f-string each (_row): every value is escaped once (the labels, unit names,
# statuses, next steps and countdowns once per distinct value, as plain str: formatting a
# Markup costs more), and a row costs a few microseconds instead of a template's tens. The rest
# of the list is templates/office/_list.html.
_NOTICE = ' ({label}<span class="notice-period">{text}</span>)'
_NEXT = '<span class="{tone}">{text}</span>'
_DUE = '<span class="due {tone}">{text}</span> <small>{day}</small>'


def _row(L: dict, id: int, name: str, url: str, employer: str, title: str, status: str,
         notice: str, next: str, due: str) -> str:
    """One row, its cells in the header's order, each labelled for the narrow layout
    (data-label, shown by app.css on phones). Every argument is escaped already."""
    return (
        f'<tr><td data-label="{L["pick"]}"><input type="checkbox" name="ids" value="{id}" '
        f'form="batch-form" aria-label="{L["pick"]} {name}"></td>\n'
        f'<td data-label="{L["l_name"]}"><a href="{url}" hx-boost="false">{name}</a></td>'
        f'<td data-label="{L["l_code"]}">{id}</td>'
        f'<td data-label="{L["l_employer"]}">{employer}</td>\n'
        f'<td data-label="{L["l_title"]}">{title}</td>'
        f'<td data-label="{L["l_status"]}">{status}{notice}</td>\n'
        f'<td data-label="{L["l_next"]}">{next}</td>\n'
        f'<td data-label="{L["l_due"]}">{due}</td></tr>\n')


def _html(text) -> str:
    return str(escape(text))


def column_labels() -> dict[str, str]:
    """The list's column names in the current language, escaped for HTML."""
    return {k: _html(v) for k, v in (
        ("pick", gettext("选择")), ("l_name", gettext("申报人")), ("l_code", gettext("申报编号")),
        ("l_employer", gettext("用人单位")), ("l_title", gettext("系列/级别")),
        ("l_status", gettext("状态")), ("l_next", gettext("下一步")), ("l_due", gettext("期限")))}


def rows_html(rows, today: date, detail_endpoint: str, labels: dict[str, str]) -> Markup:
    """The table rows of `rows` ([(ListRow, due)]): next step, countdown and the rest worked
    out and escaped once per distinct value (no query)."""
    from .workflow.notice_period import notice_text
    from .workflow.transitions import status_label
    cfg = g.tenant
    policies = cfg.policies
    fee, renotice = policies.fee_required, policies.renotice_after_agency_return
    base = url_for(detail_endpoint, app_id=0)
    assert base.endswith("/0")
    base = _html(base[:-1])
    notice_label = gettext("公示期") + gettext("：")
    name = labeller()
    employers, titles, statuses, notices, nexts, dues = {}, {}, {}, {}, {}, {}
    out = []
    for a, due in rows:
        if (employer := employers.get(a.employer_org_id)) is None:
            employer = employers[a.employer_org_id] = _html(name(a.employer))
        if (title := titles.get((a.series, a.level))) is None:
            title = titles[a.series, a.level] = _html(
                f"{name(cfg.series(a.series))} · {name(cfg.level(a.level))}")
        if (status := statuses.get(a.status)) is None:
            status = statuses[a.status] = _html(str(status_label(a.status)))
        notice = ""
        if a.notice_ends_on:
            key = (a.notice_starts_on, a.notice_ends_on)
            if (notice := notices.get(key)) is None:
                notice = notices[key] = _NOTICE.format(
                    label=_html(notice_label),
                    text=_html(notice_text(cfg, a.notice_starts_on, a.notice_ends_on)))
        step = a.current_step
        key = (a.status, step.get("kind") if step else None, bool(a.correction_due),
               a.notice_ends_on)
        if (nxt := nexts.get(key)) is None:
            n = next_action(a, today, fee, renotice)
            nxt = nexts[key] = _NEXT.format(tone="muted" if n.waiting else "next",
                                            text=_html(n.text)) if n else ""
        if (shown := dues.get(due)) is None:
            c = countdown(due, today)
            shown = dues[due] = _DUE.format(tone=c[1], text=_html(c[0]),
                                            day=due.isoformat()) if c else ""
        out.append(_row(labels, a.id, _html(a.applicant.name), f"{base}{a.id}", employer, title,
                        status, notice, nxt, shown))
    return Markup("".join(out))


def held_statuses(statuses: tuple[str, ...], counts: dict, current: str | None) -> list[str]:
    """The statuses the list offers: the page's own, and any other the office holds."""
    return [s.value for s in Status
            if s.value in statuses or s.value in counts or s.value == current]


_STATIC: dict = {}


def _static_choices(cfg) -> dict:
    """The options that come from the tenant file alone, worked out once per tenant config and
    language (a tenant config is not changed in place; a reload makes a new one)."""
    loc = get_locale()
    key = (id(cfg), loc.language if loc is not None else "")
    if key not in _STATIC:
        policies = [(p.code, label(p)) for p in cfg.policies.policy]
        _STATIC[key] = {
            "levels": [(lv.code, label(lv)) for lv in cfg.tenant.levels],
            "series": [(s.code, label(s), [(sp.code, label(sp)) for sp in s.specialties])
                       for s in cfg.tenant.series],
            "districts": [(d.code, label(d)) for d in cfg.tenant.districts],
            "policies": policies + [("none", str(ORDINARY))] if policies else [],
            "modes": [(m.value, str(MODE_LABELS.get(m.value, m.value))) for m in ReviewMode],
            "sorts": [(k, str(v)) for k, v in SORT_LABELS.items()],
            "cfg": cfg,  # keeps the id from being reused while the entry lives
        }
    return _STATIC[key]


def choices(org_id: int, f: inbox.Filters) -> dict:
    """The form's options, from the tenant's config and (plans, employers) its rows: two
    queries."""
    plans = db.session.execute(
        sa.select(Plan.id, Plan.name, Plan.name_en).where(Plan.tenant_id == g.tenant_id)
        .order_by(Plan.year.desc(), Plan.id)).all()
    return {**_static_choices(g.tenant), "plans": [(p.id, label(p)) for p in plans],
            "units": _units(org_id, f.unit)}


def show(endpoint: str, full: str, *, default_status: str | None = None,
         statuses: tuple[str, ...] = OFFICE_STATUSES, detail_endpoint: str = "office.detail",
         more: Callable[[], dict] | None = None, **extra):
    """The list page (or, for htmx, the list fragment) of the files the user's office holds:
    drawn, or shown again as it was drawn when nothing has changed since (app/pagecache.py).
    `more` gives the full page's other parts (queried only when the page is drawn)."""
    return pagecache.kept_page(lambda: _draw(endpoint, full, default_status, statuses,
                                             detail_endpoint, more, extra))


def _draw(endpoint: str, full: str, default_status: str | None, statuses: tuple[str, ...],
          detail_endpoint: str, more: Callable[[], dict] | None, extra: dict):
    org_id = current_user.org_id
    f = inbox.Filters.from_args(request.args, default_status)
    today = today_local()
    number = request.args.get("page", type=int)
    position = {"after": request.args.get("after") or None,
                "before": request.args.get("before") or None,
                "page": number if number and number > 0 else None}

    def args(**changes) -> dict:
        """This list's URL arguments: the filters with `changes` applied (a cursor or a page
        besides), and an explicit blank status where the page's default would come back."""
        moved = {k: changes.pop(k) for k in ("after", "before", "page") if k in changes}
        out = f.args(**changes)
        if default_status is not None and "status" not in out:
            out["status"] = ""
        return {**out, **{k: v for k, v in moved.items() if v is not None}}

    def link(**changes) -> str:
        return url_for(endpoint, **args(**changes))

    here = link(**position)
    fragment = bool(htmx) and not htmx.history_restore_request
    # A form sent without JavaScript names every field, the blank ones too: answer with the
    # same list under its short URL, the one to bookmark (htmx is told to push that one).
    blank = any(v == "" for k, v in request.args.items(multi=True)
                if k != "status" or default_status is None)
    if blank and not fragment:
        return redirect(here, 302)
    page = inbox.page(g.tenant_id, org_id, f, today, after=position["after"],
                      before=position["before"], number=position["page"])

    labels = column_labels()
    rows = rows_html(page.rows, today, detail_endpoint, labels)
    resp = render_page(full, "office/_list.html", f=f, page=page, rows=rows,
                       labels={k: Markup(v) for k, v in labels.items()},  # escaped already
                       link=link,
                       link_args=args, boosted=fragment and bool(htmx.boosted),
                       list_endpoint=endpoint, detail_endpoint=detail_endpoint,
                       default_status=default_status,
                       statuses=held_statuses(statuses, page.counts, f.status),
                       opts=None if fragment else choices(org_id, f),
                       **(more() if more and not fragment else {}), **extra)
    if fragment:
        resp.headers["HX-Push-Url"] = here
    return resp
