"""Tier reports (CF-REPORT-1): for what one office has forwarded in one plan, the recommendation
report (推荐报告) as a PDF, the 花名册 as one .xlsx per level — grouped by series, then
specialty — and the 岗位数及申报人数统计表. Each roster row carries who reviewed it for this
office, their opinion and the date (CF-UNIT-1).

Built for tens of thousands of files: the rosters' order is read once as two integers per file,
then the files are read CHUNK at a time (each chunk with its related rows in a fixed number of
queries) and streamed row by row into the rosters' files (`spreadsheets.write`, which pulls the
rows as it writes); the same first read gives each roster's layout (where its group headings
fall), which the writer needs before the first row; the report
PDF carries counts, never the list of people (that is the roster), so its size does not grow with
the number of files."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterator
from functools import cache
from itertools import groupby
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, NamedTuple

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from ..extensions import db
from ..models import (
    Application, Committee, Entry, JobRun, Org, Plan, ReviewStep, Section, User, utcnow,
)
from ..models.reports import TierReport
from ..spreadsheets import XLSX_MIME, Sheet, write
from ..tenancy import label
from ..uploads.storage import storage
from . import policies, quotas
from .applications import entry_text
from .calendar import now_local
from .paper import GENDERS, RECORD_LOCALE, graduated_last, mode_label, record_pdf

ROSTER, STATISTICS, REPORT = "roster", "statistics", "report"
MIMETYPES = {".xlsx": XLSX_MIME,
             ".pdf": "application/pdf"}
# Files read and written per round: memory stays flat whatever the number of files.
CHUNK = 2000


def run_key(org_id: int, plan_id: int) -> str:
    return f"report:{org_id}:{plan_id}"


def stored_key(stored_name: str) -> str:
    """Where a report file is kept, under its tenant's folder of the file store."""
    return f"reports/{stored_name}"


def read(slug: str, stored_name: str) -> bytes:
    """A stored report file's bytes."""
    return storage().read(f"{slug}/{stored_key(stored_name)}")


@contextmanager
def _new_file(slug: str, suffix: str) -> Iterator[tuple[str, Path]]:
    """A random name for a new report file and a local path to write it at; put into the file
    store when the block ends (left out, and removed, when it raises)."""
    name = f"{uuid.uuid4().hex}{suffix}"
    key = f"{slug}/{stored_key(name)}"
    path = storage().incoming(key)
    try:
        yield name, path
        storage().put_file(key, path)
    finally:
        path.unlink(missing_ok=True)


def mimetype_of(report: TierReport) -> str:
    return MIMETYPES[Path(report.stored_name).suffix]


def _recommended(tenant_id: int, org_id: int, plan_id: int):
    """Per file of the plan this office has recommended onwards: its id, the id of its latest
    such step (the one the rows print) and of its first (the order files came in)."""
    return (sa.select(ReviewStep.application_id.label("app_id"),
                      sa.func.max(ReviewStep.id).label("step_id"),
                      sa.func.min(ReviewStep.id).label("first_id"))
            .join(Application, Application.id == ReviewStep.application_id)
            .where(Application.tenant_id == tenant_id, Application.plan_id == plan_id,
                   ReviewStep.org_id == org_id, ReviewStep.action == "recommend")
            .group_by(ReviewStep.application_id).subquery())


def _case(mapping: dict, column, default: int):
    return sa.case(mapping, value=column, else_=default) if mapping else sa.literal(default)


def _order(cfg) -> list:
    """ORDER BY following the tenant file: levels highest first (one roster each), files of a
    policy's own group after the ordinary ones (CF-POL-5), then series, then specialty."""
    series = cfg.tenant.series
    rank = _case({lv.code: lv.rank for lv in cfg.tenant.levels}, Application.level, 0)
    group = _case({p.code: i + 1 for i, p in enumerate(cfg.policies.policy) if p.separate_group},
                  Application.policy, 0)
    series_pos = _case({s.code: i for i, s in enumerate(series)}, Application.series,
                       len(series))
    unlisted = _case({s.code: len(s.specialties) for s in series}, Application.series, 0)
    whens = [(sa.and_(Application.series == s.code, Application.specialty == sp.code), j)
             for s in series for j, sp in enumerate(s.specialties)]
    spec_pos = sa.case(*whens, else_=unlisted) if whens else unlisted
    return [rank.desc(), Application.level, group, series_pos, spec_pos,
            sa.func.coalesce(Application.specialty, "")]


class _Run(NamedTuple):
    """Files next to each other in the rosters' order that share their roster and group
    headings: how many there are."""
    level: str
    policy: str | None
    series: str
    specialty: str | None
    files: int


def forwarded(cfg, tenant_id: int, org_id: int, plan_id: int) -> tuple[array, array, list]:
    """The files this office has forwarded in the plan, in the rosters' order, as two arrays of
    ids (the file, this office's latest recommendation of it): eight bytes each per file, read
    in one streamed query; and the runs (`_Run`) they fall into, a few dozen whatever the
    number of files."""
    r = _recommended(tenant_id, org_id, plan_id)
    result = db.session.execute(
        sa.select(r.c.app_id, r.c.step_id, Application.level, Application.policy,
                  Application.series, Application.specialty)
        .join(Application, Application.id == r.c.app_id)
        .order_by(*_order(cfg), r.c.first_id).execution_options(yield_per=CHUNK * 5))
    app_ids, step_ids, runs = array("q"), array("q"), []
    key, n = None, 0
    for part in result.partitions():
        for app_id, step_id, *group in part:
            app_ids.append(app_id)
            step_ids.append(step_id)
            if group != key:
                if n:
                    runs.append(_Run(*key, n))
                key, n = group, 0
            n += 1
    if n:
        runs.append(_Run(*key, n))
    return app_ids, step_ids, runs


class _Row(NamedTuple):
    """One forwarded file as read for the rosters and the counts."""
    app_id: int
    series: str
    specialty: str | None
    level: str
    policy: str | None
    committee_id: int
    employer_org_id: int | None
    association_org_id: int | None
    basic: dict
    name: str


def _chunk(tenant_id: int, app_ids, step_ids, units: dict[int, str]) -> list[tuple]:
    """(file, this office's step, its education entries' data) for the ids, in their order:
    four queries whatever the number of ids; `units` (org id → name) is filled as needed."""
    app_ids, step_ids = list(app_ids), list(step_ids)
    # Plain rows straight off the connection: no ORM objects, nothing kept in the session.
    conn = db.session.connection()
    files = {r[0]: _Row(*r) for r in conn.execute(
        sa.select(Application.id, Application.series, Application.specialty, Application.level,
                  Application.policy, Application.committee_id, Application.employer_org_id,
                  Application.association_org_id, Application.basic, User.name)
        .join(User, User.id == Application.applicant_id)
        .where(Application.tenant_id == tenant_id, Application.id.in_(app_ids)))}
    steps = {r.application_id: r for r in conn.execute(
        sa.select(ReviewStep.application_id, ReviewStep.opinion, ReviewStep.reviewer_name,
                  ReviewStep.at).where(ReviewStep.id.in_(step_ids)))}
    education: dict[int, list] = defaultdict(list)
    for app_id, data in conn.execute(
            sa.select(Entry.application_id, Entry.data)
            .where(Entry.application_id.in_(app_ids),
                   Entry.section == Section.education.value).order_by(Entry.id)):
        education[app_id].append(data)
    wanted = {i for f in files.values() for i in (f.employer_org_id, f.association_org_id)
              if i is not None and i not in units}
    if wanted:
        units.update((i, name) for i, name in conn.execute(sa.select(Org.id, Org.name)
                     .where(Org.tenant_id == tenant_id, Org.id.in_(wanted))))
    return [(files[i], steps[i], education.get(i, ())) for i in app_ids]


class _Words:
    """The roster's words for codes, each worked out once per job (current locale): every
    method below is memoised per instance, so a row costs a few dictionary look-ups."""

    def __init__(self, cfg, plan: Plan):
        self.cfg, self.plan = cfg, plan
        for name in ("series", "specialty", "level", "policy", "group", "gender", "degree",
                     "_mode"):
            setattr(self, name, cache(getattr(self, name)))

    def series(self, code):
        return label(self.cfg.series(code))

    def specialty(self, series, code):
        return label(self.cfg.specialty(series, code)) if code else ""

    def level(self, code):
        return label(self.cfg.level(code))

    def policy(self, code):
        return label(self.cfg.policy(code)) if code else str(policies.ORDINARY)

    def group(self, code):
        """The review group of its own the policy lists a file in, if any (CF-POL-5)."""
        return policies.group_label(self.cfg, SimpleNamespace(policy=code))

    def gender(self, code):
        return str(GENDERS.get(code, ""))

    def degree(self, value):
        return entry_text("degree", value)

    def mode(self, f: _Row):
        return self._mode(f.committee_id, f.series, f.specialty, f.level,
                          bool((f.basic or {}).get("classified")))

    def _mode(self, committee_id, series, specialty, level, classified):
        return str(mode_label(Application(
            tenant_id=self.plan.tenant_id, plan=self.plan,
            committee=db.session.get(Committee, committee_id), series=series,
            specialty=specialty, level=level, basic={"classified": classified})))

    def day(self, at):
        return now_local(at).date().isoformat()


def _unit_name(f: _Row, units: dict[int, str]) -> str:
    org_id = f.employer_org_id or f.association_org_id
    return units.get(org_id, "") if org_id else ""


def _roster_header() -> list[str]:
    """The 花名册's columns: the person, the title held, what is applied for and how, and this
    office's recommendation with its reviewer and date (CF-REPORT-1, CF-UNIT-1)."""
    return [_("序号"), _("姓名"), _("性别"), _("出生日期"), _("工作单位"), _("学历"), _("现职称"),
            _("取得现职称日期"), _("系列"), _("专业"), _("申报级别"), _("评审方式"), _("申报政策"),
            _("推荐意见"), _("审核人"), _("审核日期")]


def _roster_row(words: _Words, f: _Row, step, education, units) -> list:
    """One forwarded file under `_roster_header()` (without the number), as `paper.facts`
    words it."""
    basic = f.basic or {}
    edu = graduated_last(education)
    return [f.name, words.gender(basic.get("gender")), basic.get("birth_date") or "",
            _unit_name(f, units), words.degree(edu.get("degree")) if edu else "",
            basic.get("current_title") or words.level(basic.get("current_level") or ""),
            basic.get("title_on") or "", words.series(f.series),
            words.specialty(f.series, f.specialty), words.level(f.level), words.mode(f),
            words.policy(f.policy), step.opinion, step.reviewer_name, words.day(step.at)]


ROSTER_WIDTHS = (6, 10, 6, 12, 28, 12, 14, 14, 10, 12, 10, 22, 20, 30, 10, 12)


class _Roster:
    """The 花名册 of one level, its layout known beforehand from the runs of files (`_Run`):
    headings for a policy's own group, each series and each specialty as the files come in that
    order, and the files' rows between them."""

    def __init__(self, words: _Words, level: str, runs: list[_Run]):
        self.words, self.level, self.rows = words, level, 0
        # Each item a heading's text or a number of files; the headings' rows are bold.
        self.layout: list[str | int] = []
        self.bold: list[int] = []
        group, series, specialty = None, object(), object()
        row = 0
        for run in runs:
            headings = []
            own_group = words.group(run.policy)
            if own_group != group:
                group, series, specialty = own_group, object(), object()
                headings.append(_("单独分组：%(name)s", name=own_group))
            if run.series != series:
                series, specialty = run.series, object()
                headings.append(_("系列：%(name)s", name=words.series(run.series)))
            if run.specialty != specialty:
                specialty = run.specialty
                if run.specialty:  # a series without specialties has no specialty groups
                    headings.append(_("专业：%(name)s",
                                      name=words.specialty(run.series, run.specialty)))
            for text in headings:
                self.layout.append(text)
                self.bold.append(row)
                row += 1
            self.layout.append(run.files)
            row += run.files

    def write(self, org_name: str, plan: Plan, slug: str, files: Iterator, counts: _Counts,
              units: dict[int, str]) -> None:
        """Write the roster's file, taking its files' rows from `files` as the writer asks."""
        name = self.words.level(self.level)
        with _new_file(slug, ".xlsx") as (self.stored_name, path):
            write(path, [Sheet(
                name[:31] or self.level, _roster_header(), self._rows(files, counts, units),
                above=[(_("%(plan)s申报职称评审人员花名册（%(level)s）", plan=label(plan),
                          level=name), True), (_("报送单位：%(org)s", org=org_name), False)],
                widths=ROSTER_WIDTHS, numbers={0}, bold_rows=self.bold, print_wide=True)])

    def _rows(self, files: Iterator, counts: _Counts, units: dict[int, str]):
        words = self.words
        for item in self.layout:
            if isinstance(item, str):
                yield [item]
                continue
            for _i in range(item):
                f, step, education = next(files)
                values = _roster_row(words, f, step, education, units)
                counts.add(f, step, values[-1])
                self.rows += 1
                yield [self.rows, *values]


class _Counts:
    """What the statistics table and the report count, gathered as the rows go by."""

    def __init__(self):
        self.by_unit: Counter = Counter()      # (employer id, unit org id, level)
        self.by_series: Counter = Counter()    # (series, level)
        self.by_policy: Counter = Counter()    # policy code or None
        self.reviewers: dict[str, list] = {}   # name → [files, first day, last day]

    def add(self, f: _Row, step, day: str) -> None:
        self.by_unit[(f.employer_org_id, f.employer_org_id or f.association_org_id,
                      f.level)] += 1
        self.by_series[(f.series, f.level)] += 1
        self.by_policy[f.policy] += 1
        seen = self.reviewers.get(step.reviewer_name)
        if seen is None:
            self.reviewers[step.reviewer_name] = [1, day, day]
        else:
            seen[0] += 1
            seen[1], seen[2] = min(seen[1], day), max(seen[2], day)

    @property
    def total(self) -> int:
        return sum(self.by_series.values())


def _series_keys(cfg, keys, rank):
    order = {s.code: i for i, s in enumerate(cfg.tenant.series)}
    return sorted(keys, key=lambda k: (order.get(k[0], len(order)), -rank.get(k[1], 0)))


def _statistics(cfg, org_name: str, plan: Plan, counts: _Counts, units: dict[int, str],
                path: Path) -> None:
    """The 岗位数及申报人数统计表, written to `path`: by unit and level, then by series."""
    rank = {lv.code: lv.rank for lv in cfg.tenant.levels}
    # By unit and level: the posts the unit declared (CF-POL-9; blank where it declares none)
    # beside the files forwarded.
    posts = quotas.posts_by_unit_level(plan.tenant_id, plan.year)
    rows = sorted(((units.get(unit, "") if unit else "", employer, level, n)
                   for (employer, unit, level), n in counts.by_unit.items()),
                  key=lambda r: (r[0], -rank.get(r[2], 0)))
    by_unit = []
    for i, (unit, employer, level, n) in enumerate(rows, 1):
        declared = posts.get((employer, level))
        figures = [*declared, max(declared[0] - declared[1], 0)] if declared else [None] * 3
        by_unit.append([i, unit, label(cfg.level(level)), *figures, n])
    by_unit.append([None, _("合计"), None, None, None, None, counts.total])
    by_series = [[i, label(cfg.series(series)), label(cfg.level(level)),
                  counts.by_series[(series, level)]]
                 for i, (series, level) in enumerate(_series_keys(cfg, counts.by_series, rank), 1)]
    by_series.append([None, _("合计"), None, counts.total])
    write(path, [
        Sheet(_("统计表"), [_("序号"), _("工作单位"), _("申报级别"), _("岗位数"), _("现聘人数"),
                         _("空缺岗位数"), _("申报人数")], by_unit,
              above=[(_("%(plan)s岗位数及申报人数统计表", plan=label(plan)), True),
                     (_("报送单位：%(org)s", org=org_name), False)],
              widths=(6, 28, 12, 10, 10, 12, 10), numbers={0, 3, 4, 5, 6}),
        Sheet(_("按系列"), [_("序号"), _("系列"), _("申报级别"), _("申报人数")], by_series,
              numbers={0, 3})])


def _recommendation(cfg, org_name: str, plan: Plan, counts: _Counts,
                    attached: list[tuple[str, int]]) -> bytes:
    """The 推荐报告 as a PDF of a few pages whatever the number of files: how many this office
    forwards per level and series and under which policy, who reviewed them and when
    (CF-UNIT-1), the files attached — the 花名册 per level listing every person with this
    office's opinion, reviewer and date, and the statistics table — and the block it is signed
    and sealed in."""
    rank = {lv.code: lv.rank for lv in cfg.tenant.levels}
    with force_locale(RECORD_LOCALE):
        levels = []
        for level in sorted({lv for _s, lv in counts.by_series}, key=lambda lv: -rank.get(lv, 0)):
            series = [(label(cfg.series(s)), counts.by_series[(s, lv)])
                      for s, lv in _series_keys(cfg, counts.by_series, rank) if lv == level]
            levels.append({"name": label(cfg.level(level)), "series": series,
                           "count": sum(n for _name, n in series)})
        order = {p.code: i for i, p in enumerate(cfg.policies.policy)}
        by_policy = [(label(cfg.policy(code)) if code else str(policies.ORDINARY), n)
                     for code, n in sorted(counts.by_policy.items(),
                                           key=lambda kv: -1 if kv[0] is None
                                           else order.get(kv[0], len(order)))]
        reviewers = [(name, *seen) for name, seen in sorted(counts.reviewers.items())]
        return record_pdf(
            "office/pdf_report.html", org=org_name, plan=label(plan), year=plan.year,
            today=now_local().date(), total=counts.total, levels=levels, policies=by_policy,
            reviewers=reviewers, attached=attached)


def generate(cfg, slug: str, tenant_id: int, org_id: int, plan_id: int, *,
             run: JobRun | None = None,
             progress: Callable[[int, int], None] | None = None) -> list[TierReport]:
    """Write the rosters (one per level of the plan with forwarded files), the recommendation
    report and the statistics table; record each as a TierReport. `progress(done, total)` is
    called with the total before the first row, then after each chunk of CHUNK rows."""
    org = db.session.get(Org, org_id)
    plan = db.session.get(Plan, plan_id)
    if org is None or plan is None or org.tenant_id != tenant_id or plan.tenant_id != tenant_id:
        raise LookupError("office or plan not in this tenant")
    org_name, plan_name = label(org), plan.name
    app_ids, step_ids, runs = forwarded(cfg, tenant_id, org_id, plan_id)
    total = len(app_ids)
    if run is not None:
        run.rows_changed = 0
    if progress:
        progress(0, total)
    words, counts, units = _Words(cfg, plan), _Counts(), {}
    made: list[TierReport] = []

    def archived(kind: str, level: str | None, filename: str, stored_name: str,
                 rows: int) -> None:
        made.append(TierReport(tenant_id=tenant_id, org_id=org_id, plan_id=plan_id, kind=kind,
                               level=level, filename=filename, stored_name=stored_name,
                               rows=rows, job_run_id=run.id if run else None))

    def files() -> Iterator[tuple]:
        """The files' rows in the rosters' order, read a chunk at a time as the rosters take
        them; progress after each chunk."""
        for start in range(0, total, CHUNK):
            yield from _chunk(tenant_id, app_ids[start:start + CHUNK],
                              step_ids[start:start + CHUNK], units)
            done = min(start + CHUNK, total)
            if run is not None:
                run.rows_changed = done
            if progress:
                progress(done, total)
    rows = files()
    for level, level_runs in groupby(runs, key=lambda r: r.level):
        roster = _Roster(words, level, list(level_runs))
        roster.write(org_name, plan, slug, rows, counts, units)
        archived(ROSTER, level, f"{plan_name}-{_('花名册')}-{words.level(level)}.xlsx",
                 roster.stored_name, roster.rows)
    if next(rows, None) is not None:  # the last chunk's progress; no file left over
        raise RuntimeError("more files read than the rosters' layout holds")
    attached = [(r.filename, r.rows) for r in made]
    statistics_name = f"{plan_name}-{_('岗位数及申报人数统计表')}.xlsx"
    pdf = _recommendation(cfg, org_name, plan, counts,
                          [*attached, (statistics_name, None)] if total else [])
    with _new_file(slug, ".pdf") as (stored_name, path):
        path.write_bytes(pdf)
    archived(REPORT, None, f"{plan_name}-{_('推荐报告')}.pdf", stored_name, total)
    with _new_file(slug, ".xlsx") as (stored_name, path):
        _statistics(cfg, org_name, plan, counts, units, path)
    archived(STATISTICS, None, statistics_name, stored_name, total)
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
