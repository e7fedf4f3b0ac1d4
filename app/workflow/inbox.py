"""An office's inbox: the files it holds, filtered, searched, sorted and paged.

Every office list (employer, department, HR bureau, agency, committee office) is the files whose
holder is the office. `Filters` is what the URL asks for (bookmarkable; unknown values are
ignored, never an error), `filtered()` the one SELECT every consumer shares (the page, the
spreadsheet export, a batch selection), and `page()` one page of it by keyset, with a page jump
by offset and the counts per status: a fixed number of queries whatever the number of rows.

Search never decrypts a row: an ID or mobile number is matched through its keyed hash, a number
of up to nine digits is the file's code (申报编号), anything else a part of the applicant's or
the employer's name.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import Application, Org, PlanWindow, Status, User
from .ids import clean_id_number, clean_mobile, id_hash, mobile_hash

PAGE_SIZE = 50
MAX_DUE_DAYS = 366
# The orders a list can be shown in: name -> the column (after the joins `filtered` makes).
SORTS = ("submitted", "updated", "name", "due")
CODE = re.compile(r"^\d{1,9}$")


@dataclass(frozen=True)
class Filters:
    plan: int | None = None
    level: str | None = None
    series: str | None = None
    specialty: str | None = None
    unit: int | None = None          # the employer (orgs.id)
    district: str | None = None      # the employer's district code
    status: str | None = None
    policy: str | None = None        # a preferential policy code; "none": the ordinary rules
    mode: str | None = None          # the review mode (online, blind, paper...)
    overdue: bool = False
    due: int | None = None           # due within this many days (today included)
    q: str = ""
    sort: str = "submitted"
    desc: bool = False

    @classmethod
    def from_args(cls, args, default_status: str | None = None) -> "Filters":
        """From request.args: blanks and malformed values are dropped, lengths bounded."""
        def text(name: str, n: int = 40) -> str | None:
            value = (args.get(name) or "").strip()
            return value[:n] or None

        def number(name: str) -> int | None:
            value = (args.get(name) or "").strip()
            return int(value) if value.isdigit() and len(value) < 10 else None

        status = text("status", 20)
        if status is None and "status" not in args:
            status = default_status
        if status is not None and status not in Status.__members__:
            status = None
        due = number("due")
        sort = args.get("sort") if args.get("sort") in SORTS else "submitted"
        return cls(plan=number("plan"), level=text("level"), series=text("series"),
                   specialty=text("specialty"), unit=number("unit"), district=text("district"),
                   status=status, policy=text("policy"), mode=text("mode", 20),
                   overdue=args.get("overdue") in ("1", "y", "on"),
                   due=min(due, MAX_DUE_DAYS) if due is not None else None,
                   q=(args.get("q") or "").strip()[:60], sort=sort,
                   desc=args.get("dir") == "desc")

    def args(self, **changes) -> dict:
        """The non-default values as URL arguments (for url_for), with `changes` applied."""
        f = replace(self, **changes) if changes else self
        out = {}
        for field in fields(f):
            value = getattr(f, field.name)
            if field.name == "desc":
                if value:
                    out["dir"] = "desc"
            elif field.name == "overdue":
                if value:
                    out["overdue"] = "1"
            elif field.name == "sort":
                if value != "submitted":
                    out["sort"] = value
            elif value not in (None, ""):
                out[field.name] = value
        return out

    @property
    def active(self) -> bool:
        """Anything narrowing the list besides the status."""
        return any(v for k, v in self.args().items() if k not in ("status", "sort", "dir"))


_DUE = None


def due_column():
    """The due column and its joins, built once: the constructs are reusable across
    statements, and building the aliases costs more than running the query."""
    global _DUE
    if _DUE is None:
        _DUE = _due_column()
    return _DUE


def _due_column():
    """The last day the holding office has for a file, and the outer joins it needs: the
    offices' review window (employer review where the plan has it, else the tier report), the
    agency's check while a correction is under way or for a recommended file, the review window
    for a paid file waiting for its session."""
    office = (Status.submitted.value, Status.in_notice.value)
    stage = sa.case(
        (Application.status.in_(office),
         sa.case((Application.correction_due.is_not(None), "agency_check"),
                 else_="employer_review")),
        (Application.status == Status.recommended.value, "agency_check"),
        (Application.status == Status.paid.value, "review"),
        else_=sa.null())
    closes, joins = window_closes(stage, sa.and_(Application.status.in_(office),
                                                 Application.correction_due.is_(None)))
    return closes.label("due"), joins


def window_closes(stage, tier_report_fallback):
    """The day the plan window of `stage` (an expression over the file's row) closes, with the
    tier report's standing in where `tier_report_fallback` holds and the plan has no window of
    that stage; and the two outer joins it needs.

    Two joins, not one per stage: with a join per stage, PostgreSQL spent several times the
    query's run planning its join order."""
    window, fallback = aliased(PlanWindow), aliased(PlanWindow)
    window_on = sa.and_(window.plan_id == Application.plan_id, window.stage == stage)
    fallback_on = sa.and_(fallback.plan_id == Application.plan_id,
                          fallback.stage == "tier_report", tier_report_fallback)
    return (sa.func.coalesce(window.closes_on, fallback.closes_on),
            ((window, window_on), (fallback, fallback_on)))


def _search(tenant_id: int, q: str):
    """The WHERE clause for a search term (see the module's docstring)."""
    compact = re.sub(r"[\s-]", "", q)
    if CODE.match(compact):
        return Application.id == int(compact)
    # The people and units matched first, each once, then the files by their ids: no join
    # per file of the inbox.
    people = sa.select(User.id).where(User.tenant_id == tenant_id)
    mobile = clean_mobile(compact)
    if mobile:
        return Application.applicant_id.in_(people.where(User.mobile_hash == mobile_hash(mobile)))
    number = clean_id_number(compact)
    if number:
        return Application.applicant_id.in_(people.where(User.id_number_hash == id_hash(number)))
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    units = sa.select(Org.id).where(Org.tenant_id == tenant_id, Org.name.like(like, escape="\\"))
    return sa.or_(Application.applicant_id.in_(people.where(User.name.like(like, escape="\\"))),
                  Application.employer_org_id.in_(units))


def _mode_column(plans) -> sa.ColumnElement:
    """The review mode of a file as SQL (Plan.mode_for and the classified override), for the
    tenant's plans: one CASE, evaluated by the database."""
    from ..models import Committee
    from ..tenancy import config_for
    agency = aliased(Org)
    committee = aliased(Committee)
    facts = {"committee_tier": agency.tier, "committee_kind": agency.kind,
             "committee": committee.code, "series": Application.series,
             "specialty": Application.specialty, "level": Application.level}
    whens = []
    if plans:
        classified_mode = config_for(plans[0].tenant_id).policies.classified_review_mode
        if classified_mode is not None:
            whens.append((Application.basic["classified"].as_boolean().is_(True),
                          classified_mode))
    for plan in plans:
        for rule in plan.mode_rules or ():
            parts = [Application.plan_id == plan.id]
            for key, value in rule["when"].items():
                values = value if isinstance(value, list) else [value]
                parts.append(facts[key].in_([v for v in values if v is not None])
                             if None not in values else
                             sa.or_(facts[key].is_(None), facts[key].in_(values)))
            whens.append((sa.and_(*parts), rule["review_mode"]))
        whens.append((Application.plan_id == plan.id, plan.review_mode))
    column = sa.case(*whens, else_=sa.null()) if whens else sa.null()
    subquery_joins = (committee, committee.id == Application.committee_id), \
        (agency, agency.id == committee.agency_org_id)
    return column, subquery_joins


def filtered(tenant_id: int, org_id: int, f: Filters, today: date,
             with_status: bool = True, columns: tuple | None = None) -> sa.Select:
    """SELECT Application, due of the files `org_id` holds matching `f` (no order, no limit).
    Without `with_status` the status filter is left out (for the counts); with `columns` those
    are selected instead, and only the joins the filters need are made (the counts)."""
    due, joins = due_column()
    need_due = columns is None or f.overdue or f.due is not None
    need_people = columns is None and f.sort == "name"
    need_employer = f.district is not None
    q = sa.select(*(columns or (Application, due))).select_from(Application)
    if need_people:
        q = q.join(User, User.id == Application.applicant_id)
    if need_employer:
        q = q.outerjoin(Org, Org.id == Application.employer_org_id)
    if need_due:
        for alias, on in joins:
            q = q.outerjoin(alias, on)
    q = q.where(Application.tenant_id == tenant_id, Application.holder_org_id == org_id)
    if with_status and f.status:
        q = q.where(Application.status == f.status)
    for column, value in ((Application.plan_id, f.plan), (Application.level, f.level),
                          (Application.series, f.series), (Application.specialty, f.specialty),
                          (Application.employer_org_id, f.unit), (Org.district, f.district)):
        if value is not None:
            q = q.where(column == value)
    if f.policy == "none":
        q = q.where(Application.policy.is_(None))
    elif f.policy:
        q = q.where(Application.policy == f.policy)
    if f.overdue:
        q = q.where(due < today)
    if f.due is not None:
        q = q.where(due >= today, due <= today + timedelta(days=f.due))
    if f.q:
        q = q.where(_search(tenant_id, f.q))
    if f.mode:
        from ..models import Plan
        plans = db.session.scalars(sa.select(Plan).where(Plan.tenant_id == tenant_id)
                                   .order_by(Plan.id)).all()
        mode, mode_joins = _mode_column(plans)
        for alias, on in mode_joins:
            q = q.outerjoin(alias, on)
        q = q.where(mode == f.mode)
    return q


def _sort_key(f: Filters, due):
    """The ordering column; ties are broken by id."""
    return {"submitted": Application.submitted_at, "updated": Application.updated_at,
            "name": User.name, "due": sa.func.coalesce(due, date(9999, 12, 31))}[f.sort]


def ordered(q: sa.Select, f: Filters) -> sa.Select:
    key = _sort_key(f, due_column()[0])
    if f.desc:
        return q.order_by(key.desc(), Application.id.desc())
    return q.order_by(key, Application.id)


# What a list row shows (app/inbox_page.py cells, next_action): these columns only, with the
# applicant's and the employer's names joined in, read as plain rows (no ORM objects: a page of
# fifty rows costs what its query costs). The rest of a file (its JSON sections, its encrypted
# fields) stays in the database.
_Employer = aliased(Org, name="list_employer")
_Applicant = aliased(User, name="list_applicant")
LIST_COLUMNS = (
    Application.id, Application.employer_org_id, Application.series, Application.level,
    Application.status, Application.route, Application.route_pos, Application.correction_due,
    Application.notice_starts_on, Application.notice_ends_on, Application.submitted_at,
    Application.updated_at, _Applicant.name.label("applicant_name"),
    _Employer.name.label("employer_name"), _Employer.name_en.label("employer_name_en"))


class ListRow:
    """One file as the list shows it: the columns above, with the names next_action and the
    page's cells read (`current_step`, `applicant.name`, `employer.name`)."""
    __slots__ = ("id", "employer_org_id", "series", "level", "status", "route", "route_pos",
                 "correction_due", "notice_starts_on", "notice_ends_on", "submitted_at",
                 "updated_at", "applicant", "employer")

    def __init__(self, row) -> None:
        (self.id, self.employer_org_id, self.series, self.level, self.status, self.route,
         self.route_pos, self.correction_due, self.notice_starts_on, self.notice_ends_on,
         self.submitted_at, self.updated_at, applicant, employer, employer_en) = row[:15]
        self.applicant = Named(applicant)
        self.employer = Named(employer, employer_en) if employer is not None else None

    @property
    def current_step(self) -> dict | None:
        route = self.route or ()
        return route[self.route_pos] if self.route_pos < len(route) else None


@dataclass(frozen=True)
class Named:
    """A person's or a unit's name (what tenancy.label reads)."""
    name: str
    name_en: str | None = None


def _list_rows(q: sa.Select) -> sa.Select:
    """`filtered(...)` (Application, due) as the list's plain columns and the due date."""
    return (q.with_only_columns(*LIST_COLUMNS, due_column()[0], maintain_column_froms=True)
            .join(_Applicant, _Applicant.id == Application.applicant_id)
            .outerjoin(_Employer, _Employer.id == Application.employer_org_id))


@dataclass
class Page:
    rows: list           # [(ListRow, due date | None)]
    counts: dict         # status -> number of files matching the filters but the status
    total: int           # files matching all the filters
    number: int          # 1-based page number (from the offset or the cursor's position)
    pages: int
    next_after: str | None
    prev_before: str | None
    size: int = PAGE_SIZE


def _sort_value(f: Filters, row: ListRow, due):
    """The value of the list's order in `row` (with its id, the keyset position)."""
    return {"submitted": row.submitted_at, "updated": row.updated_at,
            "name": row.applicant.name, "due": due or date(9999, 12, 31)}[f.sort]


def _cursor(f: Filters, row: ListRow, due) -> str:
    value = _sort_value(f, row, due)
    if isinstance(value, (datetime, date)):
        value = value.isoformat()
    return f"{value or ''}~{row.id}"


def _parse_cursor(f: Filters, cursor: str | None):
    if not cursor or "~" not in cursor:
        return None
    value, _, ident = cursor.rpartition("~")
    if not ident.isdigit():
        return None
    try:
        if f.sort in ("submitted", "updated"):
            parsed = datetime.fromisoformat(value)
        elif f.sort == "due":
            parsed = date.fromisoformat(value)
        else:
            parsed = value
    except ValueError:
        return None
    return parsed, int(ident)


def page(tenant_id: int, org_id: int, f: Filters, today: date, *, after: str | None = None,
         before: str | None = None, number: int | None = None,
         size: int = PAGE_SIZE) -> Page:
    """One page of the list: after a cursor (next), before one (previous), or page `number`
    (a jump, by offset): the counts and the rows, and after a cursor the count before it."""
    counts = dict(db.session.execute(
        filtered(tenant_id, org_id, f, today, with_status=False,
                 columns=(Application.status, sa.func.count(Application.id)))
        .group_by(Application.status)).all())
    total = counts.get(f.status, 0) if f.status else sum(counts.values())
    pages = max(1, math.ceil(total / size))
    key = _sort_key(f, due_column()[0])
    q = _list_rows(filtered(tenant_id, org_id, f, today))
    start = None
    cursor = _parse_cursor(f, after or before)
    if cursor is not None:
        value, ident = cursor
        forward = (after is not None) != f.desc
        cmp = (sa.tuple_(key, Application.id) > sa.tuple_(value, ident) if forward
               else sa.tuple_(key, Application.id) < sa.tuple_(value, ident))
        reverse = before is not None
        up = reverse != f.desc
        q = q.where(cmp).order_by(key.desc() if up else key,
                                  Application.id.desc() if up else Application.id)
        rows = [(ListRow(r), r[-1]) for r in db.session.execute(q.limit(size))]
        if reverse:
            rows.reverse()
        # The position of the page's first row, for the page number shown.
        if rows:
            first = (_sort_value(f, *rows[0]), rows[0][0].id)
            c = (sa.tuple_(key, Application.id) > sa.tuple_(*first) if f.desc
                 else sa.tuple_(key, Application.id) < sa.tuple_(*first))
            start = db.session.scalar(
                filtered(tenant_id, org_id, f, today).where(c)
                .with_only_columns(sa.func.count(Application.id), maintain_column_froms=True))
    else:
        n = min(max(number or 1, 1), pages)
        start = (n - 1) * size
        q = q.order_by(key.desc() if f.desc else key,
                       Application.id.desc() if f.desc else Application.id)
        rows = [(ListRow(r), r[-1]) for r in db.session.execute(q.limit(size).offset(start))]
    start = start or 0
    number = start // size + 1
    has_next = start + len(rows) < total
    return Page(rows=rows, counts=counts, total=total, number=number, pages=pages,
                next_after=_cursor(f, *rows[-1]) if rows and has_next else None,
                prev_before=_cursor(f, *rows[0]) if rows and start > 0 else None, size=size)
