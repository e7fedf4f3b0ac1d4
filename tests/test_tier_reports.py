"""Tier reports (CF-REPORT-1): a Chifeng county HR office forwards files of two levels and
several series and specialties, then generates its 花名册 — one .xlsx per level, grouped by
series then specialty — and its 岗位数及申报人数统计表; every row names the reviewer, the
opinion and the date of this office's step (CF-UNIT-1). Only that office can download them."""
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from openpyxl import load_workbook

from app.extensions import db
from app.models import Application, JobRun, Org
from app.models.reports import TierReport
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at
from .test_chifeng_routing import T, applicant, cfg, clerk, holder_code

PLAN = "cf-2026-senior"
SUBMIT_ON, ACT_ON = (2026, 6, 15), (2026, 6, 29)
HR = "cf-hr-aohan"
BJ_OFFICE = "bj-hr-dongcheng"
# (name, series, specialty, level): two levels, three series, two engineering specialties.
FILES = [("甲工", "engineering", "water", "associate_senior"),
         ("乙工", "engineering", "mechanical", "associate_senior"),
         ("丙经", "economics", None, "senior"),
         ("丁工", "engineering", "mechanical", "senior"),
         ("戊会", "accounting", None, "senior"),
         ("己工", "engineering", "mechanical", "associate_senior")]


def _to_county_hr(a) -> None:
    """Submit and let the employer recommend after its notice, so the county HR holds it."""
    with time_machine.travel(at(*SUBMIT_ON, 9), tick=False):
        transition(cfg(), a, "submit", f.actor(a.applicant))
        transition(cfg(), a, "start_notice", f.actor(clerk(holder_code(a))))
    with time_machine.travel(at(*ACT_ON, 9), tick=False):
        transition(cfg(), a, "recommend", f.actor(clerk(holder_code(a))), opinion="同意",
                   no_objection=True)
    assert holder_code(a) == HR


def _rows(data: bytes) -> list[tuple]:
    ws = load_workbook(io.BytesIO(data)).active
    return [tuple(c for c in row) for row in ws.iter_rows(values_only=True)]


@pytest.fixture
def forwarded(app, client, login):
    """Six files forwarded by the county HR office through its page; one still held."""
    with app.app_context():
        f.make_employer(T, "cf-firm", "aohan", kind="non_public", name="敖汉某机械公司")
        f.make_user(T, "hr-he", "hr_officer", HR, name="何平")
        clerk("cf-hr-songshan")
        ids = {}
        for i, (name, series, specialty, level) in enumerate(FILES):
            a = f.make_application(T, applicant(f"cf-r-{i}", "cf-firm", name=name), PLAN,
                                   "nm-eng-senior", series, level, specialty, exam_passed=True)
            _to_county_hr(a)
            ids[name] = a.id
        held = f.make_application(T, applicant("cf-r-held", "cf-firm", name="庚未报"), PLAN,
                                  "nm-eng-senior", "engineering", "associate_senior",
                                  "mechanical")
        _to_county_hr(held)
        plan_id = f.plan(T, PLAN).id
    # The office signs in and works on 2 July; the tests go on at that instant.
    with time_machine.travel(at(2026, 7, 2, 10), tick=False):
        login(T, "hr-he")
        for name, app_id in ids.items():
            resp = client.post(f"/{T}/office/applications/{app_id}/recommend",
                               data={"opinion": f"同意推荐{name}", "no_objection": "y"})
            assert resp.status_code == 303
        with app.app_context():
            for app_id in ids.values():
                a = db.session.get(Application, app_id)
                assert db.session.get(Org, a.holder_org_id).code == "cf-hr"
        yield plan_id


@pytest.mark.rule("CF-REPORT-1", "CF-UNIT-1")
def test_county_hr_rosters_one_file_per_level_grouped_by_series_then_specialty(
        app, client, forwarded):
    page = client.get(f"/{T}/office/")
    assert "/office/reports" in page.get_data(as_text=True)
    resp = client.post(f"/{T}/office/reports", data={"plan": forwarded})
    assert resp.status_code == 303
    page = client.get(f"/{T}/office/reports").get_data(as_text=True)
    assert "已完成" in page
    with app.app_context():
        run = db.session.scalar(sa.select(JobRun).filter_by(name="tier_report"))
        assert (run.status, run.rows_changed) == ("done", 6)
        reports = db.session.scalars(sa.select(TierReport).order_by(TierReport.id)).all()
        assert {(r.kind, r.level, r.rows) for r in reports} == {
            ("roster", "associate_senior", 3), ("roster", "senior", 3), ("statistics", None, 6)}
        assert all(r.job_run_id == run.id for r in reports)
        folder = Path(app.config["UPLOAD_DIR"]) / T / "reports"
        assert all((folder / r.stored_name).is_file() for r in reports)
        ids = {(r.kind, r.level): r.id for r in reports}
    assert page.count(f"/{T}/office/reports/") == 3

    resp = client.get(f"/{T}/office/reports/{ids[('roster', 'associate_senior')]}")
    assert resp.status_code == 200
    assert resp.mimetype.endswith("spreadsheetml.sheet")
    rows = _rows(resp.data)
    assert "副高级" in rows[0][0] and rows[1][0].endswith("敖汉旗人力资源和社会保障局")
    assert rows[2] == ("序号", "姓名", "工作单位", "系列", "专业", "申报级别", "推荐意见", "审核人",
                       "审核日期")
    body = rows[3:]
    # Group rows in the tenant's order: engineering's mechanical before water.
    shape = [r[0] if not isinstance(r[0], int) else r[1] for r in body]
    assert shape == ["系列：工程", "专业：机械", "乙工", "己工", "专业：水利", "甲工"]
    data = [r for r in body if isinstance(r[0], int)]
    assert [r[0] for r in data] == [1, 2, 3]
    assert "庚未报" not in [r[1] for r in data]
    yi = data[0]
    assert yi[1:6] == ("乙工", "敖汉某机械公司", "工程", "机械", "副高级")
    # CF-UNIT-1: this office's reviewer, opinion and date of its step.
    assert yi[6:] == ("同意推荐乙工", "何平", "2026-07-02")

    resp = client.get(f"/{T}/office/reports/{ids[('roster', 'senior')]}")
    senior = _rows(resp.data)[3:]
    assert [r[0] if not isinstance(r[0], int) else r[1] for r in senior] == [
        "系列：工程", "专业：机械", "丁工", "系列：经济", "丙经", "系列：会计", "戊会"]
    assert all(r[5] == "正高级" for r in senior if isinstance(r[0], int))

    stats = _rows(client.get(f"/{T}/office/reports/{ids[('statistics', None)]}").data)
    assert stats[2] == ("序号", "系列", "申报级别", "岗位数", "申报人数")
    counts = {(r[1], r[2]): r[4] for r in stats[3:] if isinstance(r[0], int)}
    assert counts == {("工程", "正高级"): 1, ("工程", "副高级"): 3, ("经济", "正高级"): 1,
                      ("会计", "正高级"): 1}
    assert all(r[3] is None for r in stats[3:])
    assert stats[-1][1] == "合计" and stats[-1][4] == 6


@pytest.mark.rule("CF-REPORT-1")
def test_only_the_generating_office_downloads_its_reports(app, client, login, forwarded):
    client.post(f"/{T}/office/reports", data={"plan": forwarded})
    with app.app_context():
        report_id = db.session.scalar(sa.select(TierReport.id).limit(1))
    assert client.get(f"/{T}/office/reports/{report_id}").status_code == 200
    client.post(f"/{T}/logout")
    login(T, "u-cf-hr-songshan")
    assert client.get(f"/{T}/office/reports/{report_id}").status_code == 404
    assert f"/office/reports/{report_id}" not in client.get(
        f"/{T}/office/reports").get_data(as_text=True)
    client.post(f"/{T}/logout")
    with app.app_context():
        f.make_user("beijing", "bj-office", "hr_officer", BJ_OFFICE)
    login("beijing", "bj-office")
    assert client.get(f"/beijing/office/reports/{report_id}").status_code == 404


@pytest.mark.rule("CF-REPORT-1")
def test_report_job_runs_on_a_real_worker_with_progress(app, client, forwarded, worker_id):
    """The page only enqueues; a real RQ worker writes the files and reports rows done/total."""
    import os

    from redis import Redis
    from rq import Queue, SimpleWorker
    url = os.environ.get("TEST_REDIS_URL")
    if url is None:
        pytest.skip("TEST_REDIS_URL is not set (make test starts a Redis and sets it)")
    queue_name = f"reports-{worker_id}-{os.getpid()}"
    app.config.update(JOBS_INLINE=False, RQ_QUEUE=queue_name, REDIS_URL=url)
    client.post(f"/{T}/office/reports", data={"plan": forwarded})
    with app.app_context():
        run = db.session.scalar(sa.select(JobRun).filter_by(name="tier_report"))
        assert run.status != "done" and db.session.scalar(sa.select(TierReport.id)) is None
        q = Queue(queue_name, connection=Redis.from_url(url))
        job = q.jobs[0]
        SimpleWorker([q], connection=Redis.from_url(url)).work(burst=True)
        job.refresh()
        assert job.meta["done"] == job.meta["total"] == 6
        db.session.expire_all()
        assert db.session.get(JobRun, run.id).status == "done"
        assert db.session.scalar(sa.select(sa.func.count(TierReport.id))) == 3
        q.delete(delete_jobs=True)
