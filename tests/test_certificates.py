"""E-certificates and result letters issued in batches (BJ-CERT-1), verified by QR link or query
(BJ23-VERIFY-1), revoked into a 3-year integrity record that bars applying (BJ-INTEG-1,
CF-INTEG-1)."""
from __future__ import annotations

import gzip
import io
import shutil
from datetime import date
from types import SimpleNamespace

import pytest
import segno
import sqlalchemy as sa
import time_machine
from pypdf import PdfReader

from app import uploads
from app.extensions import db
from app.models import Application, AuditEvent, JobRun, Plan, PlanWindow, Status
from app.models.certificates import Certificate, IntegrityRecord
from app.models.results import Acceptance, Objection, ObjectionStatus, Publication
from app.tenancy import TenantConfigError, load_tenant, tenants
from app.workflow import applications, eligibility
from app.workflow.accounts import set_id_number
from app.workflow.certificates import QR_BORDER, issue_batch, verify_url
from app.workflow.errors import Conflict, Forbidden, Invalid
from app.workflow.ids import mask_name
from app.workflow.transitions import transition

from . import factories as f
from .conftest import ROOT_TENANTS, at, build_app
from .test_review import VOTE_DAY, drawn_session, vote

CFG = lambda: tenants()["beijing"]  # noqa: E731
FULL_ID = "110108198506154321"
NOTICE_ENDS = date(2026, 12, 4)
ISSUE_DAY = date(2026, 12, 5)


def stored_pdfs(slug: str) -> list[str]:
    """The names of the PDFs in the tenant's folder of the file store."""
    return [k.removeprefix(f"{slug}/") for k in uploads.storage().keys()
            if k.startswith(f"{slug}/") and k.count("/") == 1 and k.endswith(".pdf")]


def passed_session(agency, n: int, outcome=None):
    """A closed Beijing session of n files; `outcome[i]` is everyone's vote on apps[i]."""
    s, apps, chair = drawn_session(agency, n, 9)
    active = [m for m in s.members if m.status == "active"]
    transition(CFG(), s, "open_voting", f.actor(chair.expert.user), present=[m.id for m in active],
               now=VOTE_DAY)
    choice = dict(zip((a.id for a in apps), outcome or ["yes"] * n))
    vote(s, active, lambda m, i: choice[i.application_id])
    transition(CFG(), s, "close", f.actor(chair.expert.user))
    return s, apps


def publish(session, ends_on=NOTICE_ENDS) -> Publication:
    """The session's results accepted and under public notice until `ends_on` (BJ-ACC-1)."""
    pub = Publication(tenant_id=session.tenant_id, session_id=session.id,
                      publisher_org_id=f.org("beijing", "bj-hr").id,
                      status=Acceptance.accepted.value, starts_on=date(2026, 11, 27),
                      ends_on=ends_on)
    db.session.add(pub)
    db.session.commit()
    return pub


def objection(app: Application, status: ObjectionStatus) -> None:
    db.session.add(Objection(tenant_id=app.tenant_id, application_id=app.id, kind="material",
                             target="申报人", facts="论文抄袭", evidence="比对报告",
                             lead="期刊编辑部", status=status.value))
    db.session.commit()


def certify_one(name="张三明", id_number=FULL_ID):
    """One Beijing file passed, published, certified on ISSUE_DAY; returns its certificate."""
    agency = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
    s, (app,) = passed_session(agency, 1)
    holder = app.applicant
    holder.name = name
    assert set_id_number(holder, id_number)
    db.session.commit()
    publish(s)
    assert issue_batch(app.tenant_id, ISSUE_DAY).rows_changed == 1
    return db.session.scalar(sa.select(Certificate).filter_by(application_id=app.id))


def status_of(app_id: int) -> str:
    return db.session.get(Application, app_id).status


# -- batch issuance (BJ-CERT-1) ------------------------------------------------------------------

@pytest.mark.rule("BJ-CERT-1")
def test_batch_issues_only_files_whose_notice_ended_without_open_objection(ctx):
    agency = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
    s, apps = passed_session(agency, 4, ["yes", "yes", "yes", "no"])
    clean, held, refused, failed = apps
    objection(held, ObjectionStatus.open)         # accepted and being looked into: holds it
    objection(refused, ObjectionStatus.refused)   # not accepted (BJ23-OBJ-1): holds nothing
    publish(s)
    tid = clean.tenant_id
    assert issue_batch(tid, NOTICE_ENDS).rows_changed == 0  # the notice's last day
    run = issue_batch(tid, ISSUE_DAY)
    assert (run.status, run.rows_changed) == ("finished", 2)
    assert {a.id: status_of(a.id) for a in apps} == {
        clean.id: Status.certified.value, held.id: Status.passed.value,
        refused.id: Status.certified.value, failed.id: Status.failed.value}
    certs = db.session.scalars(sa.select(Certificate).order_by(Certificate.application_id)).all()
    assert [c.application_id for c in certs] == [clean.id, refused.id]
    assert len({c.batch_id for c in certs}) == 1 and all(c.issuer.code == "bj-hr" for c in certs)
    assert all(c.number.startswith("BJ2026-") and len(c.number) == 17 for c in certs)
    for c in certs:
        assert uploads.read_stored("beijing", c.pdf_name).startswith(b"%PDF")
        assert uploads.read_stored("beijing", c.letter_name).startswith(b"%PDF")
    audits = db.session.scalars(sa.select(AuditEvent).filter_by(action="certify")).all()
    assert sorted((e.subject_id, e.from_state, e.to_state) for e in audits) == [
        (clean.id, "passed", "certified"), (refused.id, "passed", "certified")]

    again = issue_batch(tid, ISSUE_DAY)  # idempotent: nothing new, no new files
    assert again.rows_changed == 0
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 2
    assert len(list(stored_pdfs("beijing"))) == 4
    runs = db.session.scalars(sa.select(JobRun).filter_by(name="issue_certificates")).all()
    assert [r.rows_changed for r in runs] == [0, 2, 0]


@pytest.mark.rule("BJ-CERT-1", "BJ23-VERIFY-1")
def test_documents_carry_number_chinese_text_and_a_qr_code_of_the_verification_link(ctx):
    cert = certify_one()
    url = verify_url("beijing", cert.number)
    assert url == f"http://127.0.0.1:5000/beijing/certificates/verify/{cert.number}"
    reader = PdfReader(io.BytesIO(uploads.read_stored("beijing", cert.pdf_name)))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    text = page.extract_text()
    for expected in ("电子职称证书", cert.number, "张三明", "工程技术", "正高级",
                     "北京市人力资源和社会保障局", "110*************21", url):
        assert expected in text, expected
    assert FULL_ID not in text
    # The QR code's modules are those of the verification link's own QR code.
    qr = segno.make(url, error="m")
    img = page.images[0].image.convert("L")
    n = len(qr.matrix)
    scale = img.size[0] // (n + 2 * QR_BORDER)
    seen = [[int(img.getpixel(((QR_BORDER + c) * scale + scale // 2,
                               (QR_BORDER + r) * scale + scale // 2)) < 128) for c in range(n)]
            for r in range(n)]
    assert seen == [list(row) for row in qr.matrix]
    letter_pdf = PdfReader(io.BytesIO(uploads.read_stored("beijing", cert.letter_name)))
    assert len(letter_pdf.pages) == 1
    letter = letter_pdf.pages[0].extract_text()
    for expected in ("电子职称评价结果通知书", cert.number, "张三明", "公示无异议", url):
        assert expected in letter, expected


@pytest.mark.rule("BJ-CERT-1")
def test_cli_and_job_issue_the_same_batch(app):
    from app.jobs.certificates import run_certificates
    with app.app_context():
        agency = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
        s, apps = passed_session(agency, 2)
        publish(s)
        db.session.remove()
    out = app.test_cli_runner().invoke(args=["certificates", "issue", "--tenant", "beijing",
                                             "--date", "2026-12-04"])
    assert out.exit_code == 0 and "0 certificate(s)" in out.output
    with app.app_context(), time_machine.travel(at(2026, 12, 5, 6), tick=False):
        assert run_certificates() == 2
        assert run_certificates() == 0
    out = app.test_cli_runner().invoke(args=["certificates", "issue", "--tenant", "nowhere"])
    assert out.exit_code != 0 and "unknown tenant" in out.output


@pytest.mark.rule("BJ-CERT-1")
def test_a_file_certified_by_a_concurrent_run_is_not_issued_twice(ctx, monkeypatch):
    cert = certify_one()
    from app.workflow import certificates
    # A run that read the list before the other run committed still sees the file as certifiable.
    monkeypatch.setattr(certificates, "certifiable_ids", lambda tid, day: [cert.application_id])
    assert issue_batch(cert.tenant_id, ISSUE_DAY).rows_changed == 0
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 1
    assert sorted(stored_pdfs("beijing")) == sorted(
        [cert.pdf_name, cert.letter_name])


def test_a_failed_batch_leaves_no_files(ctx, monkeypatch):
    agency = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
    s, apps = passed_session(agency, 2)
    publish(s)
    from app.workflow import certificates
    monkeypatch.setattr(certificates, "_review_day", lambda app_id: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        issue_batch(apps[0].tenant_id, ISSUE_DAY)
    assert status_of(apps[0].id) == Status.passed.value
    assert not list(stored_pdfs("beijing"))
    assert db.session.scalar(sa.select(JobRun.status).filter_by(name="issue_certificates")) == \
        "failed"


# -- verification (BJ23-VERIFY-1) ------------------------------------------------------------------

@pytest.fixture
def issued(app):
    """A certificate for 张三明 (ID 110108198506154321), applicant `emp-a0`."""
    with app.app_context():
        cert = certify_one()
        f.make_user("beijing", "hr-city", "hr_officer", "bj-hr")
        f.make_user("beijing", "hr-hd", "hr_officer", "bj-hr-haidian")
        out = SimpleNamespace(number=cert.number, id=cert.id, app_id=cert.application_id)
        db.session.remove()
    return out


@pytest.mark.rule("BJ23-VERIFY-1")
def test_anyone_verifies_by_the_qr_link_and_sees_masked_holder_only(client, issued):
    r = client.get(f"/beijing/certificates/verify/{issued.number}",
                   headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    body = gzip.decompress(r.data).decode()
    assert len(r.data) <= 14 * 1024
    for expected in ("有效", "张*明", "110*************21", "工程技术", "正高级", "2026-12-05",
                     "北京市人力资源和社会保障局", issued.number):
        assert expected in body, expected
    assert "张三明" not in body and FULL_ID not in body and "已撤销" not in body
    # Typed in lower case with a misread O: the same certificate.
    head, tail = issued.number.split("-")
    typed = f"{head.lower()}-{tail.lower().replace('0', 'o').replace('1', 'l')}"
    assert client.get(f"/beijing/certificates/verify/{typed}").status_code == 200


def _typed_variants(number: str) -> list[str]:
    """BJ2026-7K3QH2M9XA as people type it: lower case, dashes anywhere or none, spaces, and
    full-width characters from a Chinese input method."""
    head, tail = number.split("-")
    prefix, year = head[:-4], head[-4:]
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number.lower())
    return [f"{prefix.lower()}-{year}-{tail.lower()}", f"{head}{tail}",
            f"{prefix} {year} {tail[:4]}-{tail[4:]}", full_width]


@pytest.mark.rule("BJ23-VERIFY-1")
def test_the_number_is_found_whatever_its_case_and_dashes(app, client, issued):
    for typed in _typed_variants(issued.number):
        r = client.get(f"/beijing/certificates/verify/{typed}")
        assert r.status_code == 200, typed
        assert issued.number in r.get_data(as_text=True)
    for typed in _typed_variants(issued.number)[:2]:  # the query by number and full name too
        r = client.post("/beijing/certificates/verify", data={"number": typed, "name": "张三明"})
        assert r.status_code == 303 and r.location.endswith(f"/verify/{issued.number}"), typed
    # Forgiving is not guessing: one character off, or the year dropped, finds nothing.
    head, tail = issued.number.split("-")
    other = "0" if tail[-1] != "0" else "1"
    for wrong in (f"{head}{tail[:-1]}{other}", f"{head[:-4]}{tail}"):
        assert client.get(f"/beijing/certificates/verify/{wrong}").status_code == 404, wrong


@pytest.mark.rule("BJ23-VERIFY-1")
@pytest.mark.parametrize("path", ["/beijing/certificates/verify/BJ2026-0000000000",
                                  "/chifeng/certificates/verify/{number}"])
def test_unknown_or_another_tenants_number_is_not_found(client, issued, path):
    r = client.get(path.format(number=issued.number))
    assert r.status_code == 404 and "未找到" in r.get_data(as_text=True)


@pytest.mark.rule("BJ23-VERIFY-1")
def test_query_by_number_and_full_name_is_rate_limited_per_client(app, client, issued):
    app.config["VERIFY_QUERIES_PER_MINUTE"] = 3
    assert client.get("/beijing/certificates/verify").status_code == 200  # the form: free
    right = {"number": issued.number, "name": "张三明"}
    r = client.post("/beijing/certificates/verify", data=right)
    assert r.status_code == 303 and r.location.endswith(f"/verify/{issued.number}")
    r = client.post("/beijing/certificates/verify", data={**right, "name": "张三"})
    assert r.status_code == 404 and "未查到" in r.get_data(as_text=True)
    r = client.post("/chifeng/certificates/verify", data=right)  # another tenant's certificate
    assert r.status_code == 404
    r = client.post("/beijing/certificates/verify", data=right)
    assert r.status_code == 429 and "过于频繁" in r.get_data(as_text=True)
    other = client.post("/beijing/certificates/verify", data=right,
                        environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert other.status_code == 303


FORGED = {"X-Real-IP": "198.51.100.7", "X-Forwarded-For": "198.51.100.7"}


@pytest.mark.rule("BJ23-VERIFY-1")
def test_a_forged_address_header_does_not_escape_the_query_limit(app, client, issued):
    app.config["VERIFY_QUERIES_PER_MINUTE"] = 2
    right = {"number": issued.number, "name": "张三明"}
    for _ in range(2):
        assert client.post("/beijing/certificates/verify", data=right).status_code == 303
    for n in range(3):  # a new invented address each time: still the same client
        r = client.post("/beijing/certificates/verify", data=right,
                        headers={"X-Real-IP": f"198.51.100.{n}",
                                 "X-Forwarded-For": f"198.51.100.{n}"})
        assert r.status_code == 429


@pytest.mark.rule("BJ23-VERIFY-1")
def test_behind_one_trusted_proxy_the_limit_counts_the_forwarded_client(tmp_path, database_url):
    app = build_app(database_url or f"sqlite:///{tmp_path / 'p.db'}", tmp_path,
                    TRUSTED_PROXY_HOPS=1, VERIFY_QUERIES_PER_MINUTE=1)
    client = app.test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.1"}  # every request arrives from the proxy's socket
    ask = {"number": "BJ2026-0000000000", "name": "张三"}
    for who in ("203.0.113.1", "203.0.113.2"):
        r = client.post("/beijing/certificates/verify", data=ask, environ_base=proxy,
                        headers={"X-Forwarded-For": who})
        assert r.status_code == 404  # each forwarded client has its own count
    r = client.post("/beijing/certificates/verify", data=ask, environ_base=proxy,
                    headers={"X-Forwarded-For": "203.0.113.1"})
    assert r.status_code == 429


# -- the holder's downloads (BJ-CERT-1) ------------------------------------------------------------

@pytest.mark.rule("BJ-CERT-1")
def test_holder_downloads_own_certificate_and_letter_only(app, client, login, issued):
    with app.app_context():
        f.make_user("beijing", "someone", "applicant", "emp")
    login("beijing", "emp-a0")
    assert "/certificates/mine" in client.get("/beijing/me/").get_data(as_text=True)
    page = client.get("/beijing/certificates/mine").get_data(as_text=True)
    assert issued.number in page
    for kind in ("certificate", "letter"):
        r = client.get(f"/beijing/certificates/mine/{issued.id}/{kind}.pdf")
        assert r.status_code == 200 and r.mimetype == "application/pdf"
        assert r.data.startswith(b"%PDF")
    assert client.get(f"/beijing/certificates/mine/{issued.id}/other.pdf").status_code == 404
    client.post("/beijing/logout")
    login("beijing", "someone")
    assert issued.number not in client.get("/beijing/certificates/mine").get_data(as_text=True)
    assert client.get(f"/beijing/certificates/mine/{issued.id}/certificate.pdf").status_code == 404


# -- revocation and the integrity record (BJ-INTEG-1, CF-INTEG-1) --------------------------------

def plan_2029():
    """A plan taking applications around the record's expiry (December 2029)."""
    p = Plan(tenant_id=f.tenant_id("beijing"), code="bj-2029", year=2029, name="2029年度",
             levels=["senior"], review_mode="named",
             windows=[PlanWindow(stage="apply", opens_on=date(2029, 12, 1),
                                 closes_on=date(2029, 12, 31)),
                      PlanWindow(stage="employer_review", opens_on=date(2029, 12, 1),
                                 closes_on=date(2030, 1, 15))])
    db.session.add(p)
    db.session.commit()
    return p


@pytest.mark.rule("BJ-INTEG-1", "CF-INTEG-1")
def test_serious_revocation_opens_a_three_year_record_that_bars_applying(ctx):
    cert = certify_one()
    holder = cert.holder
    district = f.make_user("beijing", "hr-hd", "hr_officer", "bj-hr-haidian")
    city = f.make_user("beijing", "hr-city", "hr_officer", "bj-hr")
    with time_machine.travel(at(2026, 12, 10, 9), tick=False):
        with pytest.raises(Forbidden):  # a district bureau did not issue it
            transition(CFG(), cert, "revoke", f.actor(district), kind="false_material",
                       opinion="学历证书系伪造")
        with pytest.raises(Invalid):
            transition(CFG(), cert, "revoke", f.actor(city), kind="false_material", opinion="")
        transition(CFG(), cert, "revoke", f.actor(city), kind="false_material",
                   opinion="学历证书系伪造，经学信网核实", serious=True)  # 情节严重: it bars
        with pytest.raises(Conflict):
            transition(CFG(), cert, "revoke", f.actor(city), kind="plagiarism", opinion="再次")
    assert cert.revoked and cert.revoke_kind == "false_material"
    assert status_of(cert.application_id) == Status.annulled.value
    rec = db.session.scalar(sa.select(IntegrityRecord))
    assert (rec.user_id, rec.id_number_hash, rec.certificate_id, rec.created_by) == (
        holder.id, holder.id_number_hash, cert.id, city.id)
    assert (rec.starts_on, rec.ends_on) == (date(2026, 12, 10), date(2029, 12, 10))
    assert "提供虚假材料" in rec.reason
    events = {(e.subject_type, e.action, e.from_state, e.to_state) for e in
              db.session.scalars(sa.select(AuditEvent).filter_by(actor_id=city.id))}
    assert events == {("certificates", "revoke", "valid", "revoked"),
                      ("applications", "annul", "certified", "annulled")}

    plan = plan_2029()
    committee = f.committee("beijing", "bj-eng")
    new = dict(plan_id=plan.id, committee_id=committee.id, series="engineering", level="senior",
               specialty="mechanical")
    draft = f.make_application("beijing", holder, "bj-2029", "bj-eng", "engineering", "senior",
                               "mechanical")
    with time_machine.travel(at(2029, 12, 9, 9), tick=False):  # 3 years less a day
        with pytest.raises(Invalid) as e:
            applications.create_application(CFG(), f.actor(holder), holder, **new)
        assert "诚信档案" in str(e.value.message) and "2029-12-10" in str(e.value.message)
        assert any("诚信档案" in str(p) for p in eligibility.problems(CFG(), draft))
    db.session.delete(draft)
    db.session.commit()
    with time_machine.travel(at(2029, 12, 11, 9), tick=False):  # 3 years and a day
        again = applications.create_application(CFG(), f.actor(holder), holder, **new)
        assert not any("诚信档案" in str(p) for p in eligibility.problems(CFG(), again))
    assert again.status == Status.draft.value


@pytest.mark.rule("BJ-INTEG-1", "BJ23-VERIFY-1")
def test_office_revokes_from_its_page_and_verification_shows_it(app, client, login, issued):
    with time_machine.travel(at(2026, 12, 10, 9)):  # the session must not idle out
        login("beijing", "hr-hd")
        assert client.get(f"/beijing/certificates/admin?number={issued.number}").status_code == 403
        client.post("/beijing/logout")
        login("beijing", "hr-city")
        page = client.get(f"/beijing/certificates/admin?number={issued.number}")
        assert page.status_code == 200 and "张三明" in page.get_data(as_text=True)
        r = client.post(f"/beijing/certificates/admin/{issued.id}/revoke",
                        data={"kind": "plagiarism", "opinion": "论文与他人作品雷同", "version": 1})
        assert r.status_code == 303
        page = client.get(r.location).get_data(as_text=True)
        assert "已撤销" in page and "2029-12-10" in page
        client.post("/beijing/logout")
        body = client.get(f"/beijing/certificates/verify/{issued.number}").get_data(as_text=True)
        assert "已撤销" in body and "2026-12-10" in body and "剽窃他人作品和学术成果" in body
        assert "论文与他人作品雷同" not in body  # the office's account stays internal
        login("beijing", "emp-a0")
        r = client.get(f"/beijing/certificates/mine/{issued.id}/certificate.pdf")
        assert r.status_code == 404


@pytest.mark.rule("CF-INTEG-1")
def test_a_revoke_form_with_a_garbled_version_is_answered_not_a_server_error(
        app, client, login, issued):
    with time_machine.travel(at(2026, 12, 10, 9)):
        login("beijing", "hr-city")
        r = client.post(f"/beijing/certificates/admin/{issued.id}/revoke",
                        data={"kind": "plagiarism", "opinion": "论文雷同", "version": "1x"})
        assert r.status_code == 303


def test_chifeng_region_bureau_revokes_and_the_record_runs_three_years(ctx):
    cfg = tenants()["chifeng"]
    f.make_employer("chifeng", "cf-firm", "songshan", kind="non_public")
    u = f.make_user("chifeng", "cf-a", "applicant", "cf-firm", id_number=FULL_ID)
    a = f.make_application("chifeng", u, "cf-2026-intermediate", "cf-eng", "engineering",
                           "intermediate", "mechanical", status=Status.certified.value)
    cert = Certificate(tenant_id=a.tenant_id, application_id=a.id, holder_id=u.id,
                       number="CF2026-ABCDEFGHJK", holder_name=u.name, id_masked="",
                       series="engineering", level="intermediate", issued_on=date(2026, 10, 1),
                       issuer_org_id=f.org("chifeng", "cf-hr").id, batch_id="b",
                       pdf_name="x.pdf", letter_name="y.pdf")
    db.session.add(cert)
    db.session.commit()
    county = f.make_user("chifeng", "cf-hr-c", "hr_officer", "cf-hr-songshan")
    region = f.make_user("chifeng", "nm-hr-o", "hr_officer", "nm-hr")
    with time_machine.travel(at(2026, 11, 2, 9), tick=False):
        with pytest.raises(Forbidden):
            transition(cfg, cert, "revoke", f.actor(county), kind="improper_means", opinion="x")
        transition(cfg, cert, "revoke", f.actor(region), kind="improper_means",
                   opinion="冒用他人业绩")
    rec = db.session.scalar(sa.select(IntegrityRecord).filter_by(user_id=u.id))
    assert (rec.starts_on, rec.ends_on) == (date(2026, 11, 2), date(2029, 11, 2))
    assert status_of(a.id) == Status.annulled.value


# -- small parts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name,masked", [("张三明", "张*明"), ("李四", "李*"), ("欧阳小华", "欧**华"),
                                         ("王", "王"), ("", "")])
def test_names_are_masked_keeping_first_and_last(name, masked):
    assert mask_name(name) == masked


def test_certificate_issuer_must_be_an_hr_bureau(tmp_path):
    folder = tmp_path / "beijing"
    shutil.copytree(ROOT_TENANTS / "beijing", folder)
    pol = folder / "policies.toml"
    pol.write_text(pol.read_text().replace('issuer = "bj-hr"', 'issuer = "bj-agency-eng"'))
    with pytest.raises(TenantConfigError, match=r"policies.toml: key certificates.issuer"):
        load_tenant(folder)


@pytest.mark.rule("BJ23-VERIFY-1")
def test_the_verification_link_follows_the_public_address_setting(app):
    """The QR code's link is built from PUBLIC_BASE_URL, path prefix included, never from the
    address the server happens to listen on."""
    app.config["PUBLIC_BASE_URL"] = "https://zc.hrss.example.gov.cn/portal"
    with app.app_context():
        url = verify_url("chifeng", "CF2026-7K3QH2M9XA")
    assert url == "https://zc.hrss.example.gov.cn/portal/chifeng/certificates/verify/CF2026-7K3QH2M9XA"
