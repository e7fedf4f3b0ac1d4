"""Tier reports for many files (CF-REPORT-1, CF-UNIT-1): the job reads the forwarded files a
chunk at a time and streams them into the rosters, so with a small chunk size a few dozen files
already cross several chunks. Every forwarded file is on its level's roster exactly once, with
this office's latest opinion, reviewer and date; the statistics table and the report's counts
agree with the database; the report stays a few pages whatever the number of files; the SQL sent
does not grow with the rows; progress knows the total from the start."""
import io
from collections import Counter

import pytest
import sqlalchemy as sa
import time_machine
from openpyxl import load_workbook
from pypdf import PdfReader

from app.extensions import db
from app.models import Application, ReviewStep, User
from app.tenancy import label
from app.workflow import reports
from bench.report_bench import seed

from .conftest import at
from .test_chifeng_routing import T, cfg
from .test_tier_reports import forwarded  # noqa: F401  (the fixture)

ORDINARY = "按一般条件申报"


def _generate(ids: dict, progress=None) -> dict:
    with time_machine.travel(at(2026, 7, 15, 9), tick=False):
        made = reports.generate(cfg(), T, ids["tenant_id"], ids["office_id"], ids["plan_id"],
                                progress=progress)
    db.session.commit()
    return {(r.kind, r.level): r for r in made}


def _sheet(report, sheet: str | None = None) -> list[tuple]:
    wb = load_workbook(io.BytesIO(reports.read(T, report.stored_name)))
    ws = wb[sheet] if sheet else wb.active
    return list(ws.iter_rows(values_only=True))


def _people(report) -> list[tuple]:
    """A roster's numbered rows (the people), in order (numbers read back as floats)."""
    return [r for r in _sheet(report)[3:] if isinstance(r[0], (int, float))]


def _pdf_lines(report) -> list[str]:
    data = reports.read(T, report.stored_name)
    return [line for page in PdfReader(io.BytesIO(data)).pages
            for line in page.extract_text().splitlines()]


def _forwarded(plan_id: int) -> list[tuple[str, str, str]]:
    """(level, series, name) of each file of the plan, from the database."""
    return db.session.execute(sa.select(Application.level, Application.series, User.name)
                              .join(User, User.id == Application.applicant_id)
                              .where(Application.plan_id == plan_id)).all()


@pytest.mark.rule("CF-REPORT-1", "CF-UNIT-1")
def test_every_forwarded_file_is_on_its_roster_once_across_many_chunks(ctx, monkeypatch):
    monkeypatch.setattr(reports, "CHUNK", 7)
    ids = seed(100, units=9)
    calls = []
    made = _generate(ids, progress=lambda done, total: calls.append((done, total)))
    # The total is known before the first row; done grows chunk by chunk up to it.
    assert calls == [(0, 100), *[(d, 100) for d in range(7, 100, 7)], (100, 100)]
    assert {k for k in made} == {("roster", "senior"), ("roster", "associate_senior"),
                                 ("report", None), ("statistics", None)}

    expected = Counter((level, name) for level, _series, name in _forwarded(ids["plan_id"]))
    found = Counter()
    series_pos = {label(s): i for i, s in enumerate(cfg().tenant.series)}
    spec_pos = {label(sp): j for s in cfg().tenant.series for j, sp in enumerate(s.specialties)}
    for level in ("senior", "associate_senior"):
        people = _people(made[("roster", level)])
        assert made[("roster", level)].rows == len(people)
        assert [r[0] for r in people] == list(range(1, len(people) + 1))
        found.update((level, r[1]) for r in people)
        # This office's own step on each file (CF-UNIT-1), not the employer's.
        assert all(r[13] == f"同意推荐{r[1]}" and r[14] == "何平" and r[15] == "2026-07-02"
                   for r in people)
        assert all(r[10] == label(cfg().level(level)) for r in people)
        # Ordinary files first, then the policy's own group (CF-POL-5); series in the
        # tenant's order inside each.
        keys = [(r[12] != ORDINARY, series_pos[r[8]], spec_pos.get(r[9], 99)) for r in people]
        assert keys == sorted(keys)
        assert {r[12] for r in people} > {ORDINARY}
    assert found == expected and sum(found.values()) == 100

    stats = _sheet(made[("statistics", None)])
    assert stats[-1][1] == "合计" and stats[-1][6] == 100
    assert sum(r[6] for r in stats[3:-1]) == 100
    by_series = {(r[1], r[2]): r[3] for r in _sheet(made[("statistics", None)], "按系列")[1:-1]}
    assert by_series == {
        (label(cfg().series(s)), label(cfg().level(lv))): n
        for (lv, s), n in Counter((lv, s) for lv, s, _n in _forwarded(ids["plan_id"])).items()}

    lines = _pdf_lines(made[("report", None)])
    assert "合计 100" in lines
    subtotals = [line for line in lines if line.startswith("小计 ")]
    assert subtotals == [f"小计 {made[('roster', 'senior')].rows}",
                         f"小计 {made[('roster', 'associate_senior')].rows}"]
    assert "何平 100 2026-07-02" in lines
    policies = Counter(r[12] for level in ("senior", "associate_senior")
                       for r in _people(made[("roster", level)]))
    for name, n in policies.items():
        assert f"{name} {n}" in lines


@pytest.mark.rule("CF-REPORT-1")
def test_the_report_stays_a_summary_whatever_the_number_of_files(ctx):
    ids = seed(20, units=3)
    few = _generate(ids)[("report", None)]
    pages = len(PdfReader(io.BytesIO(reports.read(T, few.stored_name))).pages)
    size = len(reports.read(T, few.stored_name))
    seed(400, units=3)
    many = _generate(ids)[("report", None)]
    assert many.rows == 420
    assert len(PdfReader(io.BytesIO(reports.read(T, many.stored_name))).pages) == pages <= 3
    assert len(reports.read(T, many.stored_name)) < size * 1.2


@pytest.mark.rule("CF-REPORT-1")
def test_sql_per_job_does_not_grow_with_the_rows(ctx, monkeypatch):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def measured(ids) -> int:
        statements.clear()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            _generate(ids)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)
    ids = seed(30, units=4)
    one_chunk = measured(ids)
    seed(90, units=4)
    assert measured(ids) == one_chunk  # 120 files, still one chunk
    monkeypatch.setattr(reports, "CHUNK", 30)
    # Four chunks: at most four statements (files, steps, education, units) per extra chunk.
    assert one_chunk < measured(ids) <= one_chunk + 3 * 4


@pytest.mark.rule("CF-REPORT-1", "CF-UNIT-1")
def test_a_file_recommended_again_is_listed_once_with_the_latest_opinion(ctx, monkeypatch):
    monkeypatch.setattr(reports, "CHUNK", 2)
    ids = seed(5, units=2)
    first = db.session.scalar(sa.select(Application).where(Application.plan_id == ids["plan_id"])
                              .order_by(Application.id))
    db.session.add(ReviewStep(application_id=first.id, org_id=ids["office_id"],
                              reviewer_name="王审", action="recommend", opinion="复核后同意",
                              at=at(2026, 7, 9, 10)))
    db.session.commit()
    made = _generate(ids)
    people = [r for key, report in made.items() if key[0] == "roster"
              for r in _people(report)]
    assert len(people) == 5
    mine = [r for r in people if r[1] == first.applicant.name]
    assert len(mine) == 1 and mine[0][13:] == ("复核后同意", "王审", "2026-07-09")
    lines = _pdf_lines(made[("report", None)])
    assert "何平 4 2026-07-02" in lines and "王审 1 2026-07-09" in lines


@pytest.mark.rule("CF-REPORT-1")
def test_the_reports_page_shows_rows_done_of_the_total_while_the_job_runs(
        app, client, forwarded, worker_id, redis_url):
    """The job puts done/total in its meta (total first, then per chunk); the page, polling
    while a run is open, shows it."""
    import os

    from redis import Redis
    from rq import Queue
    queue_name = f"reports-progress-{worker_id}-{os.getpid()}"
    app.config.update(JOBS_INLINE=False, RQ_QUEUE=queue_name, REDIS_URL=redis_url)
    client.post(f"/{T}/office/reports", data={"plan": forwarded})
    q = Queue(queue_name, connection=Redis.from_url(redis_url))
    try:
        job = q.jobs[0]
        job.meta.update(done=4000, total=50000)
        job.save_meta()
        page = client.get(f"/{T}/office/reports").get_data(as_text=True)
        assert "已处理 4000 / 50000 行" in page
        assert 'hx-trigger="every 2s"' in page
    finally:
        q.delete(delete_jobs=True)
