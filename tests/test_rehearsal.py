"""Rehearsing a tenant's year (app/rehearsal): the shipped tenants' 2026 plans run through every
stage on a simulated clock in a sandbox database, a broken copy is reported with its causes, the
real database is never touched, and the tenant admin's page runs it as a job with a report page
and a spreadsheet. The tests use the smallest population (one file per plan and level)."""
from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import openpyxl
import sqlalchemy as sa

from app.extensions import db
from app.models import JobRun
from app.rehearsal import rehearse
from app.rehearsal.sandbox import portable_config

from . import factories as f

ROOT = Path(__file__).resolve().parent.parent / "tenants"


def _counts() -> dict[str, int]:
    """Rows of every table of the (real) test database."""
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
            for t in db.metadata.sorted_tables}


def _by_stage(report: dict) -> dict:
    return {r["stage"]: r for r in report["stages"]}


def _broken_copy(tmp_path: Path) -> Path:
    """Chifeng with the junior plan's tier-report deadline before its application close, and one
    named expert (the engineering committees' only one)."""
    folder = tmp_path / "chifeng"
    shutil.copytree(ROOT / "chifeng", folder)
    plans = folder / "plans" / "2026.toml"
    text = plans.read_text(encoding="utf-8")
    plans.write_text(text.replace("tier_report = { opens = 2026-05-11, closes = 2026-06-10 }",
                                  "tier_report = { opens = 2026-05-11, closes = 2026-05-20 }", 1),
                     encoding="utf-8")
    demo = folder / "demo.toml"
    text = demo.read_text(encoding="utf-8")
    experts = [m.start() for m in re.finditer(r"^\[\[expert\]\]", text, re.M)]
    after = re.compile(r"^\[(?!\[expert\]\])", re.M).search(text, experts[-1] + 1)
    cut = text[:experts[1]] + (text[after.start():] if after else "")
    demo.write_text(cut, encoding="utf-8")
    return folder


def test_chifeng_2026_rehearses_clean(app):
    with app.app_context():
        before = _counts()
        report = rehearse("chifeng", 2026, ROOT / "chifeng", portable_config(app.config), "tiny")
        assert _counts() == before  # the real database is untouched
    assert report["clean"], report["findings"]
    stages = _by_stage(report)
    assert report["files"] >= 10
    assert set(report["plans"]) == {"cf-2026-junior", "cf-2026-intermediate", "cf-2026-senior",
                                    "cf-2026-directed", "cf-2026-directed-intermediate"}
    # Every level of the tenant applied; the directed policy and a classified file were there.
    kinds = report["cast"]["kinds"]
    for level in ("junior_staff", "junior_assistant", "intermediate", "associate_senior",
                  "senior"):
        assert kinds.get(f"level:{level}"), level
    assert kinds.get("policy:directed") and kinds.get("classified")
    # Every file went through the offices, the agency, a drawn panel and the ballot; ballots
    # passed and failed; every passed file got its certificate.
    assert stages["apply"]["entered"] == report["files"]
    assert stages["review"]["failed"] >= 1
    assert stages["certificate"]["entered"] == stages["results"]["entered"] > 0
    assert all(r["stalled"] == r["abandoned"] == 0 for r in report["stages"])


def test_beijing_2026_rehearses_clean_and_warns_of_the_last_application_days(app):
    """Beijing's 2026 notice closes applications on 30 Jul and the employers' review on 6 Aug:
    a file submitted on the last day cannot finish the employer's 5-working-day notice (counted
    from the next working day) before the review closes. The dates are the published notice's,
    and files submitted by 29 Jul fit: the rehearsal warns with the latest day that fits, its
    applicants come by that day, and everything runs through to certificates."""
    with app.app_context():
        before = _counts()
        report = rehearse("beijing", 2026, ROOT / "beijing", portable_config(app.config), "tiny")
        assert _counts() == before
    assert report["clean"]
    assert [x for x in report["findings"] if x["severity"] == "problem"] == []
    tail = [x for x in report["findings"] if x["cause"] == "notice_tail"]
    assert len(tail) == 1 and tail[0]["severity"] == "warning"
    assert "2026-07-30" in tail[0]["detail"] and "2026-08-06" in tail[0]["detail"]
    assert "最晚 2026-07-29 提交" in tail[0]["detail"]
    assert all(r["stalled"] == r["abandoned"] == 0 for r in report["stages"])
    stages = _by_stage(report)
    assert stages["fee"]["entered"] > 0  # Beijing charges a fee (BJ-FEE-1)
    assert stages["certificate"]["entered"] > 0 and stages["review"]["failed"] >= 1
    assert report["cast"]["kinds"].get("freelancer")


def test_the_latest_day_that_fits_the_notice_and_a_window_where_none_does(app):
    """With 25 Sep 2026 a holiday (中秋节), a file of 22 Sep runs its notice 23, 24, 28, 29 and
    30 Sep: no day left to recommend before a 30 Sep close; 21 Sep fits. A window of one day
    where the notice cannot end before the close has no day that fits."""
    from datetime import date
    from types import SimpleNamespace

    from app.rehearsal import checks
    from app.tenancy import tenants
    from app.workflow.calendar import WorkCalendar
    with app.app_context():
        cal = WorkCalendar(tenants()["chifeng"])

    def plan(apply_opens, apply_closes, review_closes):
        return SimpleNamespace(windows=[
            SimpleNamespace(stage="apply", opens_on=apply_opens, closes_on=apply_closes),
            SimpleNamespace(stage="employer_review", opens_on=apply_opens,
                            closes_on=review_closes)])
    assert checks.latest_submission(plan(date(2026, 9, 1), date(2026, 9, 25),
                                         date(2026, 9, 30)), 5, cal) == date(2026, 9, 21)
    assert checks.latest_submission(plan(date(2026, 9, 25), date(2026, 9, 25),
                                         date(2026, 9, 30)), 5, cal) is None


def test_a_broken_copy_is_reported_with_its_causes(app, tmp_path):
    """`flask rehearse chifeng 2026 --tenant-dir COPY` names a tier deadline before the apply
    close and a committee with one expert, and exits 1; the real database stays as it was."""
    broken = _broken_copy(tmp_path)
    with app.app_context():
        before = _counts()
    result = app.test_cli_runner().invoke(args=[
        "rehearse", "chifeng", "2026", "--tenant-dir", str(broken), "--size", "tiny",
        "--xlsx", str(tmp_path / "report.xlsx")])
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1, result.output
    out = result.output
    assert "发现问题" in out
    assert "tier_report 截止日 2026-05-20 早于申报截止日 2026-05-25" in out
    assert re.search(r"评审委员会 cf-eng（engineering/\w+）可抽取专家仅 1 人", out)
    assert "逐级审核上报期截止未上报" in out  # a file the early close lost
    wb = openpyxl.load_workbook(tmp_path / "report.xlsx")
    assert any("cf-eng" in str(c.value) for row in wb.worksheets[1].iter_rows() for c in row)
    with app.app_context():
        assert _counts() == before


def test_the_admin_page_runs_a_rehearsal_as_a_job(app, client, login):
    """The tenant admin starts a rehearsal; it runs as a job (inline here: in a process of its
    own), and its report shows as a page and opens as a spreadsheet. Others may not."""
    with app.app_context():
        f.make_user("chifeng", "cf-admin", "tenant_admin")
        f.make_user("chifeng", "cf-hr-x", "hr_officer", "cf-hr")
        db.session.commit()
    login("chifeng", "cf-hr-x")
    assert client.get("/chifeng/admin/rehearsals").status_code == 403
    client.post("/chifeng/logout")
    login("chifeng", "cf-admin")
    page = client.get("/chifeng/admin/rehearsals")
    assert page.status_code == 200 and "年度演练" in page.get_data(as_text=True)
    refused = client.post("/chifeng/admin/rehearsals", data={"year": "1999", "size": "tiny"})
    assert refused.status_code == 303
    with app.app_context():
        before = _counts()
    resp = client.post("/chifeng/admin/rehearsals", data={"year": "2026", "size": "tiny"})
    assert resp.status_code == 303
    with app.app_context():
        run = db.session.scalar(sa.select(JobRun).filter_by(name="rehearsal"))
        assert run.status == "finished", run.error
        after = _counts()
        assert after.pop("job_runs") == before.pop("job_runs") + 1  # the run's own row
        assert after == before
    body = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "通过，未发现问题" in body and "发证" in body
    xlsx = client.get(f"/chifeng/admin/rehearsals/{run.id}/report.xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    rows = [[c.value for c in r] for r in wb.worksheets[0].iter_rows()]
    assert rows[0][1] == "chifeng" and any(r[0] == "发证" for r in rows)
    # Another tenant's rehearsal is not found here.
    assert client.get(f"/beijing/admin/rehearsals/{run.id}").status_code in (302, 403, 404)


def test_the_rehearsal_job_runs_on_rq_with_progress(app, redis_conn, worker_id):
    """Through a real queue and worker: the job reports simulated days done / total in its
    meta, records its run as finished and leaves its report for the page."""
    import os

    from rq import Queue

    from app.jobs.worker import SimpleWorker

    from app.jobs import rehearsal as job
    name = f"test-rehearsal-{worker_id}-{os.getpid()}"
    app.config.update(JOBS_INLINE=False, RQ_QUEUE=name)
    with app.app_context():
        run = JobRun(tenant_id=f.tenant_id("chifeng"), name=job.NAME, status="queued",
                     key="rehearsal:chifeng:2026:tiny")
        db.session.add(run)
        db.session.commit()
        job.enqueue("chifeng", 2026, "tiny", run)
        q = Queue(name, connection=redis_conn)
        db.session.refresh(run)
        assert q.job_ids == [run.rq_job_id]
        assert run.rq_job_id.startswith(f"rehearsal-chifeng-{run.id}-")
        rq_job = q.fetch_job(run.rq_job_id)
        SimpleWorker([q], connection=redis_conn).work(burst=True)
        rq_job.refresh()
        assert rq_job.meta["total"] > 100 and rq_job.meta["done"] >= 20
        db.session.expire_all()
        run = db.session.get(JobRun, run.id)
        assert run.status == "finished" and run.rows_changed > 0
        report = job.load_report("chifeng", run.id)
        assert report["clean"] and report["files"] == run.rows_changed
        q.delete(delete_jobs=True)


def test_static_checks_name_a_close_on_a_holiday_and_a_route_step_without_office(app):
    """A window closing on National Day, a notice that cannot fit, a region step with no
    region HR office and a quota given out beyond its total are each named."""
    import dataclasses
    from datetime import date
    from types import SimpleNamespace

    from app.rehearsal import checks
    from app.tenancy.schema import OrgKind, Tier
    from app.workflow.calendar import WorkCalendar
    with app.app_context():
        from app.tenancy import tenants
        cfg = tenants()["chifeng"]

        def w(stage, opens, closes):
            return SimpleNamespace(stage=stage, opens_on=opens, closes_on=closes)
        plan = SimpleNamespace(code="x", year=2026, levels=["intermediate"], windows=[
            w("apply", date(2026, 9, 1), date(2026, 9, 25)),
            w("tier_report", date(2026, 9, 1), date(2026, 9, 30)),
            w("agency_check", date(2026, 9, 1), date(2026, 10, 1)),
            w("review", date(2026, 9, 1), date(2026, 11, 30))])
        found = checks.static(cfg, [plan], WorkCalendar(cfg))
        causes = {(x["cause"], x["stage"]) for x in found}
        assert ("closes_on_day_off", "agency_check") in causes  # 1 Oct: National Day
        # 25 Sep + 5 working days > 30 Sep; earlier days fit: a warning, not a failure
        assert ("notice_tail", "notice") in causes
        no_region = dataclasses.replace(cfg, orgs=cfg.orgs.model_copy(update={"org": [
            o for o in cfg.orgs.org
            if not (o.kind == OrgKind.hr_bureau and o.tier == Tier.region)]}))
        found = checks.static(no_region, [plan], WorkCalendar(cfg))
        assert any(x["cause"] == "route_no_office" and "region_hr" in x["detail"] for x in found)
        quota = cfg.policies.review_quota[0]
        over = dataclasses.replace(cfg, demo=cfg.demo.model_copy(update={"allocation": [
            cfg.demo.allocation[0].model_copy(update={"quota": quota.code,
                                                      "places": quota.total + 1})]}))
        found = checks.static(over, [plan], WorkCalendar(cfg))
        assert any(x["cause"] == "quota_too_small" and quota.code in x["detail"] for x in found)
