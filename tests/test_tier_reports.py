"""Tier reports (CF-REPORT-1): a Chifeng county HR office forwards files of two levels and
several series and specialties, then generates its 推荐报告 (PDF), its 花名册 — one .xlsx per
level, grouped by series then specialty — and its 岗位数及申报人数统计表; every row names the
reviewer, the opinion and the date of this office's step (CF-UNIT-1). Only that office can
download them."""
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from openpyxl import load_workbook
from pypdf import PdfReader

from app.extensions import db
from app.models import Application, JobRun, Org
from app.models.reports import TierReport
from app.workflow.reports import generate, read as read_report
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
        transition(cfg(), a, "submit", f.actor(a.applicant), pledge=f.PLEDGE)
        transition(cfg(), a, "start_notice", f.actor(clerk(holder_code(a))))
    with time_machine.travel(at(*ACT_ON, 9), tick=False):
        transition(cfg(), a, "recommend", f.actor(clerk(holder_code(a))), opinion="同意",
                   no_objection=True)
    assert holder_code(a) == HR


def _rows(data: bytes, sheet: str | None = None) -> list[tuple]:
    """A sheet's rows as values. The writer stores every number as a float: a row's number
    reads back as 1.0, so the tests tell people's rows from headings by a number, not an int."""
    wb = load_workbook(io.BytesIO(data))
    ws = wb[sheet] if sheet else wb.active
    return [tuple(c for c in row) for row in ws.iter_rows(values_only=True)]


def _pdf_lines(data: bytes) -> list[str]:
    return [line for page in PdfReader(io.BytesIO(data)).pages
            for line in page.extract_text().splitlines()]


def _fonts(data: bytes) -> set[str]:
    page = PdfReader(io.BytesIO(data)).pages[0]
    return {str(font.get_object()["/BaseFont"]) for font in page["/Resources"]["/Font"].values()}


def _between(lines: list[str], first: str, last: str) -> list[str]:
    return lines[lines.index(first) + 1:lines.index(last)]


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
            ("roster", "associate_senior", 3), ("roster", "senior", 3), ("report", None, 6),
            ("statistics", None, 6)}
        assert all(r.job_run_id == run.id for r in reports)
        folder = Path(app.config["UPLOAD_DIR"]) / T / "reports"
        assert all((folder / r.stored_name).is_file() for r in reports)
        ids = {(r.kind, r.level): r.id for r in reports}
    assert page.count(f"/{T}/office/reports/") == 4

    resp = client.get(f"/{T}/office/reports/{ids[('roster', 'associate_senior')]}")
    assert resp.status_code == 200
    assert resp.mimetype.endswith("spreadsheetml.sheet")
    rows = _rows(resp.data)
    assert "副高级" in rows[0][0] and rows[1][0].endswith("敖汉旗人力资源和社会保障局")
    assert rows[2] == ("序号", "姓名", "性别", "出生日期", "工作单位", "学历", "现职称",
                       "取得现职称日期", "系列", "专业", "申报级别", "评审方式", "申报政策",
                       "推荐意见", "审核人", "审核日期")
    body = rows[3:]
    # Group rows in the tenant's order: engineering's mechanical before water.
    shape = [r[0] if not isinstance(r[0], (int, float)) else r[1] for r in body]
    assert shape == ["系列：工程", "专业：机械", "乙工", "己工", "专业：水利", "甲工"]
    data = [r for r in body if isinstance(r[0], (int, float))]
    assert [r[0] for r in data] == [1, 2, 3]
    assert "庚未报" not in [r[1] for r in data]
    yi = data[0]
    assert yi[1:13] == ("乙工", "男", "1985-06-15", "敖汉某机械公司", "本科", "中级", "2015-07-01",
                        "工程", "机械", "副高级", "线上盲审盲评", "按一般条件申报")
    # CF-UNIT-1: this office's reviewer, opinion and date of its step.
    assert yi[13:] == ("同意推荐乙工", "何平", "2026-07-02")

    resp = client.get(f"/{T}/office/reports/{ids[('roster', 'senior')]}")
    senior = _rows(resp.data)[3:]
    assert [r[0] if not isinstance(r[0], (int, float)) else r[1] for r in senior] == [
        "系列：工程", "专业：机械", "丁工", "系列：经济", "丙经", "系列：会计", "戊会"]
    assert all(r[10] == "正高级" for r in senior if isinstance(r[0], (int, float)))

    stats = _rows(client.get(f"/{T}/office/reports/{ids[('statistics', None)]}").data)
    assert stats[2] == ("序号", "工作单位", "申报级别", "岗位数", "现聘人数", "空缺岗位数", "申报人数")
    assert stats[-1][1] == "合计" and stats[-1][6] == 6
    by_series = _rows(client.get(f"/{T}/office/reports/{ids[('statistics', None)]}").data,
                      sheet="按系列")
    counts = {(r[1], r[2]): r[3] for r in by_series[1:] if isinstance(r[0], (int, float))}
    assert counts == {("工程", "正高级"): 1, ("工程", "副高级"): 3, ("经济", "正高级"): 1,
                      ("会计", "正高级"): 1}
    assert by_series[-1][1:] == ("合计", None, 6)


@pytest.mark.rule("CF-REPORT-1", "CF-UNIT-1")
def test_recommendation_report_pdf_counts_names_the_rosters_and_leaves_room_to_sign_and_seal(
        app, client, forwarded):
    client.post(f"/{T}/office/reports", data={"plan": forwarded})
    with app.app_context():
        report = db.session.scalar(sa.select(TierReport).filter_by(kind="report"))
        assert report.filename == "2026年度赤峰市高级职称评审-推荐报告.pdf"
        assert (report.rows, report.level) == (6, None) and report.stored_name.endswith(".pdf")
        report_id = report.id
    resp = client.get(f"/{T}/office/reports/{report_id}")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert "attachment" in resp.headers["Content-Disposition"]
    assert any(font.endswith("+WenQuanYi-Micro-Hei") for font in _fonts(resp.data))  # CJK subset
    lines = _pdf_lines(resp.data)
    assert lines[:4] == ["2026年度职称评审推荐报告", "评审计划：2026年度赤峰市高级职称评审",
                         "报送单位：敖汉旗人力资源和社会保障局", "报告日期：2026年7月2日"]
    # Per level, highest first: how many this office forwards in each series.
    assert _between(lines, "一、推荐人数", "二、申报政策") == [
        "申报级别 系列 推荐人数", "正高级 工程 1", "经济 1", "会计 1", "小计 3",
        "副高级 工程 3", "小计 3", "合计 6"]
    assert _between(lines, "二、申报政策", "三、审核情况") == ["申报政策 推荐人数", "按一般条件申报 6"]
    # Who reviewed for this office, how many and when (CF-UNIT-1); each person's opinion,
    # reviewer and date are on the roster, which the report names with its head count.
    review = _between(lines, "三、审核情况", "四、附件")
    assert review[-2:] == ["审核人 审核人数 审核日期", "何平 6 2026-07-02"]
    assert "花名册" in "".join(review[:-2])
    sign_at = lines.index("经办人（签字）： 负责人（签字）：")
    attached = [line for line in lines[lines.index("四、附件") + 1:sign_at] if " / " not in line]
    assert attached == ["1. 2026年度赤峰市高级职称评审-花名册-正高级.xlsx（3人）",
                        "2. 2026年度赤峰市高级职称评审-花名册-副高级.xlsx（3人）",
                        "3. 2026年度赤峰市高级职称评审-岗位数及申报人数统计表.xlsx"]
    # The list of people is the roster, not the report.
    assert not any(name in line for line in lines for name, *_rest in FILES)
    assert not any("庚未报" in line for line in lines)
    assert lines[sign_at + 1:sign_at + 4] == ["（单位盖章）", "敖汉旗人力资源和社会保障局",
                                              "2026年7月2日"]


@pytest.mark.rule("CF-REPORT-1")
def test_an_office_that_forwarded_nobody_still_reports_so(ctx):
    office, plan = f.org(T, HR), f.plan(T, PLAN)
    with time_machine.travel(at(2026, 7, 15, 9), tick=False):
        made = generate(cfg(), T, office.tenant_id, office.id, plan.id)
    assert [(r.kind, r.rows) for r in made] == [("report", 0), ("statistics", 0)]
    lines = _pdf_lines(read_report(T, made[0].stored_name))
    assert "本单位在2026年度赤峰市高级职称评审中未推荐申报人员。" in lines
    assert "报告日期：2026年7月15日" in lines and "（单位盖章）" in lines
    assert not any(line.startswith("一、推荐人数") for line in lines)


@pytest.mark.rule("CF-REPORT-1")
def test_only_the_generating_office_downloads_its_reports(app, client, login, forwarded):
    client.post(f"/{T}/office/reports", data={"plan": forwarded})
    with app.app_context():
        ids = db.session.scalars(sa.select(TierReport.id)).all()
        pdf_id = db.session.scalar(sa.select(TierReport.id).filter_by(kind="report"))
    assert len(ids) == 4 and pdf_id in ids
    assert all(client.get(f"/{T}/office/reports/{i}").status_code == 200 for i in ids)
    client.post(f"/{T}/logout")
    login(T, "u-cf-hr-songshan")
    assert [client.get(f"/{T}/office/reports/{i}").status_code for i in ids] == [404] * 4
    page = client.get(f"/{T}/office/reports").get_data(as_text=True)
    assert not any(f"/office/reports/{i}" in page for i in ids)
    client.post(f"/{T}/logout")
    with app.app_context():
        f.make_user("beijing", "bj-office", "hr_officer", BJ_OFFICE)
    login("beijing", "bj-office")
    assert [client.get(f"/beijing/office/reports/{i}").status_code for i in ids] == [404] * 4


@pytest.mark.rule("CF-REPORT-1")
def test_report_job_runs_on_a_real_worker_with_progress(app, client, forwarded, worker_id,
                                                       redis_url):
    """The page only enqueues; a real RQ worker writes the files and reports rows done/total."""
    import os

    from redis import Redis
    from rq import Queue

    from app.jobs.worker import SimpleWorker
    url = redis_url
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
        assert db.session.scalar(sa.select(sa.func.count(TierReport.id))) == 4
        q.delete(delete_jobs=True)


@pytest.mark.rule("CF-POL-5", "CF-POL-9", "CF-REPORT-1")
def test_separate_groups_close_the_roster_and_declared_posts_fill_the_statistics(
        app, forwarded):
    from app.models.quotas import UnitPosts
    with app.app_context():
        firm = f.org(T, "cf-firm")
        db.session.add(UnitPosts(tenant_id=firm.tenant_id, org_id=firm.id, year=2026,
                                 level="associate_senior", posts=5, holders=2))
        yi = db.session.scalar(sa.select(Application).where(
            Application.basic["name"].as_string() == "乙工"))
        yi.policy = "non_public"
        db.session.commit()
        made = generate(cfg(), T, firm.tenant_id, f.org(T, HR).id, forwarded)
        db.session.commit()
        by_kind = {(r.kind, r.level): r.stored_name for r in made}
        roster = load_workbook(io.BytesIO(
            read_report(T, by_kind[("roster", "associate_senior")]))).active
        body = [r for r in roster.iter_rows(min_row=4, values_only=True)]
        shape = [r[0] if not isinstance(r[0], (int, float)) else r[1] for r in body]
        # The non-public file is listed last, in its own group, under its series again.
        assert shape == ["系列：工程", "专业：机械", "己工", "专业：水利", "甲工",
                         "单独分组：非公有制领域专业技术人员直接申报", "系列：工程", "专业：机械", "乙工"]
        stats = load_workbook(io.BytesIO(read_report(T, by_kind[("statistics", None)]))).active
        rows = [r for r in stats.iter_rows(min_row=4, values_only=True)
                if isinstance(r[0], (int, float))]
        assert [r[1:] for r in rows] == [("敖汉某机械公司", "正高级", None, None, None, 3),
                                         ("敖汉某机械公司", "副高级", 5, 2, 3, 3)]
