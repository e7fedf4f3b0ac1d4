"""Office lists as .xlsx: whatever the list shows, filtered, written row by row.

`write(stmt, ...)` takes a SELECT of (Application, due) — `inbox.filtered()` in the list's order,
or any other office list of the same shape — and writes it to a streamed workbook
(`spreadsheets.write`) a chunk at a time: the rows come from the database `chunk` at a time
(yield_per: a server-side cursor on PostgreSQL), each chunk's applicants, employers, plans and
committees are loaded by one query each, and the sheet's rows go straight to a temporary file.
Memory stays bounded whatever the number of rows; the finished file is sent in blocks and removed.

Personal numbers never leave unmasked: the ID number is exported in its masked form (what the
office's own pages show), the mobile number not at all.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import defer, selectinload

from ..extensions import db
from ..models import Application, Committee, ReviewStep
from ..spreadsheets import Sheet, write as write_book
from ..tenancy import label
from .actors import Actor
from .calendar import TZ
from .ids import clean_id_number, clean_mobile, mask_id, mask_mobile
from .paper import mode_label
from .transitions import audit, status_label

CHUNK = 500

HEADERS = (_l("申报编号"), _l("申报人"), _l("证件号码（脱敏）"), _l("工作单位"), _l("所在区县"),
           _l("申报计划"), _l("评审委员会"), _l("系列"), _l("专业"), _l("级别"), _l("申报政策"),
           _l("评审方式"), _l("状态"), _l("提交时间"), _l("办理期限"), _l("剩余天数"), _l("下一步"))

# The columns that are not text: the file's number and the days left; the submission time and
# the deadline are spreadsheet dates (sortable).
NUMBERS, DATETIMES, DATES = {0, 15}, {13}, {14}


@dataclass
class Export:
    path: str      # the finished workbook (a temporary file: the caller sends and removes it)
    rows: int


class _Row:
    """Turns a file into its row; every label is worked out once per distinct value (a list of
    10,000 files has a few dozen), so formatting costs little per row."""

    def __init__(self, cfg, today: date):
        self.cfg, self.today, self.memo = cfg, today, {}

    def _once(self, key, make):
        value = self.memo.get(key)
        if value is None:
            value = self.memo[key] = make()
        return value

    def _employer(self, org) -> tuple[str, str]:
        district = self.cfg.district(org.district) if org.district else None
        return label(org), label(district) if district else ""

    def _series(self, app) -> tuple[str, str, str]:
        cfg = self.cfg
        series = cfg.series(app.series)
        specialty = cfg.specialty(app.series, app.specialty) if app.specialty else None
        return (label(series) if series else app.series,
                label(specialty) if specialty else (app.specialty or ""),
                label(cfg.level(app.level)) or app.level)

    def values(self, app: Application, due: date | None) -> list:
        cfg, once = self.cfg, self._once
        employer = (once(("org", app.employer_org_id), lambda: self._employer(app.employer))
                    if app.employer_org_id else ("", ""))
        series = once(("series", app.series, app.specialty, app.level),
                      lambda: self._series(app))
        mode = once(("mode", app.plan_id, app.committee_id, app.series, app.specialty,
                     app.level, app.classified), lambda: str(mode_label(app)))
        policy = once(("policy", app.policy),
                      lambda: label(cfg.policy(app.policy)) if cfg.policy(app.policy) else "")
        step = (app.current_step or {}).get("kind")
        submitted = (app.submitted_at.astimezone(TZ).replace(tzinfo=None, microsecond=0)
                     if app.submitted_at else None)
        return [app.id, app.applicant.name, app.applicant.id_number_masked or "", *employer,
                once(("plan", app.plan_id), lambda: label(app.plan)),
                once(("committee", app.committee_id), lambda: label(app.committee)),
                *series, policy, mode,
                once(("status", app.status), lambda: str(status_label(app.status))),
                submitted, due, (due - self.today).days if due else None,
                once(("next", app.status, step, bool(app.correction_due), app.notice_ends_on),
                     lambda: self._next(app))]

    def _next(self, app: Application) -> str:
        """The next step as the list page shows it (a few distinct values: worked out once)."""
        from ..inbox_page import next_action
        p = self.cfg.policies
        nxt = next_action(app, self.today, p.fee_required, p.renotice_after_agency_return)
        return nxt.text if nxt else ""


def write(cfg, stmt: sa.Select, title: str, today: date, chunk: int = CHUNK) -> Export:
    """Write the rows of `stmt` (Application, due) to a new .xlsx file (see the module)."""
    stmt = stmt.options(
        defer(Application.pledge_text), selectinload(Application.applicant),
        selectinload(Application.employer), selectinload(Application.plan),
        selectinload(Application.committee).selectinload(Committee.agency)
    ).execution_options(yield_per=chunk)
    fd, path = tempfile.mkstemp(prefix="export-", suffix=".xlsx")
    os.close(fd)
    n = 0

    def rows():
        nonlocal n
        row = _Row(cfg, today)
        for part in db.session.execute(stmt).partitions():
            for app, due in part:
                n += 1
                yield row.values(app, due)
    try:
        write_book(path, [Sheet(title[:31] or "sheet", HEADERS, rows(), numbers=NUMBERS,
                                dates=DATES, datetimes=DATETIMES)])
    except BaseException:
        Path(path).unlink(missing_ok=True)  # `write` removes a half-written file itself
        raise
    return Export(path, n)


def handled(tenant_id: int, org_id: int) -> sa.Select:
    """The files this office has acted on and no longer holds, most recently changed first
    (Application, due: none, the office has nothing left to do)."""
    acted = sa.select(ReviewStep.application_id).where(ReviewStep.org_id == org_id)
    return (sa.select(Application, sa.null().label("due"))
            .where(Application.tenant_id == tenant_id, Application.id.in_(acted),
                   sa.or_(Application.holder_org_id.is_(None),
                          Application.holder_org_id != org_id))
            .order_by(Application.updated_at.desc(), Application.id.desc()))


def file_name(list_name: str, office_name: str, today: date) -> str:
    """"待办申报-海淀精密机械厂-2026-07-20.xlsx": the list, the office and the day."""
    clean = "".join(c for c in office_name if c not in '\\/:*?"<>|').strip()[:60]
    return f"{list_name}-{clean}-{today.isoformat()}.xlsx"


def _masked(key: str, value) -> str:
    """A search term that is a mobile or ID number goes into the record masked."""
    if key == "q":
        compact = re.sub(r"[\s-]", "", str(value))
        if clean_mobile(compact):
            return mask_mobile(clean_mobile(compact))
        if clean_id_number(compact):
            return mask_id(clean_id_number(compact))
    return str(value)


def record(actor: Actor, what: str, args: dict, rows: int) -> None:
    """Audit an export: who took which list, filtered how, and how many files (the rows hold
    personal data; a bulk copy leaving the system is kept on record)."""
    shown = " ".join(f"{k}={_masked(k, v)}" for k, v in sorted(args.items()))
    audit(actor, "applications", None, "export", reason=f"{what} {shown} rows={rows}"[:2000])
    db.session.commit()
