"""False material found while a file is under way: the office that found it disqualifies the file
with its reason and the person enters the integrity record; only a serious case bars new
applications while the record runs (BJ-INTEG-1 四(一), CF-INTEG-1 七(一))."""
from dataclasses import replace
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import AuditEvent, ReviewStep, Status
from app.models.certificates import IntegrityRecord
from app.tenancy import tenants
from app.workflow import applications, eligibility
from app.workflow.errors import Conflict, Forbidden, Invalid
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at

BJ = lambda: tenants()["beijing"]  # noqa: E731
CF = lambda: tenants()["chifeng"]  # noqa: E731


def beijing_file(stage="recommended", username="a1"):
    """A Beijing engineering file of an applicant of `emp`: in its employer's notice, or
    recommended to the engineering agency (20 Jul 2026). (file, employer clerk)"""
    if f.org("beijing", "emp") is None:
        f.make_employer("beijing", "emp", "haidian")
    clerk = f.make_user("beijing", f"clerk-{username}", "employer_clerk", "emp")
    u = f.make_user("beijing", username, "applicant", "emp", name="申报人")
    a = f.make_application("beijing", u, "bj-2026", "bj-eng", "engineering", "senior",
                           "mechanical")
    with time_machine.travel(at(2026, 7, 8, 9), tick=False):
        transition(BJ(), a, "submit", f.actor(u), pledge=f.PLEDGE)
        transition(BJ(), a, "start_notice", f.actor(clerk))
    if stage == "recommended":
        with time_machine.travel(at(2026, 7, 20, 9), tick=False):
            transition(BJ(), a, "recommend", f.actor(clerk), opinion="同意", no_objection=True)
    return a, clerk


def records():
    return db.session.scalars(sa.select(IntegrityRecord).order_by(IntegrityRecord.id)).all()


def new_file_in(cfg, user, plan="bj-2026", committee="bj-eng"):
    return dict(plan_id=f.plan("beijing", plan).id, committee_id=f.committee("beijing", committee).id,
                series="engineering", level="senior", specialty="mechanical")


@pytest.mark.rule("BJ-INTEG-1")
def test_agency_disqualifies_a_file_with_false_material_and_records_it(ctx):
    a, clerk = beijing_file()
    agency = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
    stranger = f.make_user("beijing", "other-ag", "agency_clerk", "bj-agency-econ")
    with time_machine.travel(at(2026, 8, 3, 9), tick=False):
        with pytest.raises(Forbidden):  # an agency off the file's route
            transition(BJ(), a, "disqualify", f.actor(stranger), kind="false_material",
                       opinion="学历证书系伪造")
        with pytest.raises(Invalid, match="违规事实"):  # the reason is required
            transition(BJ(), a, "disqualify", f.actor(agency), kind="false_material", opinion=" ")
        with pytest.raises(Invalid, match="原因"):
            transition(BJ(), a, "disqualify", f.actor(agency), kind="", opinion="伪造")
        assert records() == [] and a.status == Status.recommended.value
        transition(BJ(), a, "disqualify", f.actor(agency), kind="false_material",
                   opinion="学历证书系伪造，经学信网核实")
    assert (a.status, a.holder_org_id) == (Status.disqualified.value, None)
    step = a.steps[-1]
    assert (step.action, step.org_id, step.reviewer_name) == ("disqualify", agency.org_id, "ag")
    assert step.opinion == "提供虚假材料：学历证书系伪造，经学信网核实"
    (rec,) = records()
    assert (rec.user_id, rec.application_id, rec.serious, rec.created_by) == (
        a.applicant_id, a.id, False, agency.id)
    assert (rec.starts_on, rec.ends_on) == (date(2026, 8, 3), date(2029, 8, 3))  # 3 years
    event = db.session.scalar(sa.select(AuditEvent).filter_by(action="disqualify"))
    assert (event.from_state, event.to_state, event.actor_id) == ("recommended", "disqualified",
                                                                  agency.id)
    with pytest.raises(Conflict):  # done once
        transition(BJ(), a, "disqualify", f.actor(agency), kind="plagiarism", opinion="再次")
    # A plain record is kept for 3 years but does not bar a new application.
    with time_machine.travel(at(2026, 8, 4, 9), tick=False):
        assert eligibility.active_record(a.tenant_id, a.applicant, date(2026, 8, 4)) is None


@pytest.mark.rule("BJ-INTEG-1")
def test_a_serious_case_found_by_the_employer_bars_applying_for_the_record_years(ctx):
    a, clerk = beijing_file(stage="in_notice")
    with time_machine.travel(at(2026, 7, 10, 9), tick=False):
        transition(BJ(), a, "disqualify", f.actor(clerk), kind="plagiarism",
                   opinion="论文与他人作品雷同", serious=True)
    (rec,) = records()
    assert rec.serious and "情节严重" in rec.reason
    assert rec.ends_on == date(2029, 7, 10)
    person = a.applicant
    with time_machine.travel(at(2026, 7, 11, 9), tick=False):
        with pytest.raises(Invalid, match="2029-07-10"):
            applications.create_application(BJ(), f.actor(person), person,
                                            **new_file_in(BJ(), person))


@pytest.mark.rule("BJ-INTEG-1")
def test_only_a_serious_revocation_bars_applying(ctx):
    """A revoked title always writes the record; only the serious case bars (四(一))."""
    from app.workflow.certificates import integrity_records_of
    from .test_certificates import certify_one
    cert = certify_one()
    city = f.make_user("beijing", "hr-city", "hr_officer", "bj-hr")
    with time_machine.travel(at(2026, 12, 10, 9), tick=False):
        transition(BJ(), cert, "revoke", f.actor(city), kind="false_material",
                   opinion="学历证书系伪造")
    (rec,) = integrity_records_of(cert)
    assert not rec.serious and rec.ends_on == date(2029, 12, 10)
    assert eligibility.active_record(cert.tenant_id, cert.holder, date(2027, 1, 1)) is None
    rec.serious = True  # the same record, marked serious, bars until it ends
    db.session.commit()
    assert eligibility.active_record(cert.tenant_id, cert.holder, date(2029, 12, 9)) == rec
    assert eligibility.active_record(cert.tenant_id, cert.holder, date(2029, 12, 10)) is None


def chifeng_file():
    """A Chifeng 中级 engineering file held by its county HR bureau (after the employer)."""
    f.make_employer("chifeng", "cf-firm", "songshan", kind="non_public")
    clerk = f.make_user("chifeng", "cf-clerk", "employer_clerk", "cf-firm")
    hr = f.make_user("chifeng", "cf-hr", "hr_officer", "cf-hr-songshan")
    u = f.make_user("chifeng", "cf-a", "applicant", "cf-firm")
    a = f.make_application("chifeng", u, "cf-2026-intermediate", "cf-eng", "engineering",
                           "intermediate", "mechanical")
    with time_machine.travel(at(2026, 6, 1, 9), tick=False):
        transition(CF(), a, "submit", f.actor(u), pledge=f.PLEDGE)
        transition(CF(), a, "start_notice", f.actor(clerk))
    with time_machine.travel(at(2026, 6, 15, 9), tick=False):
        transition(CF(), a, "recommend", f.actor(clerk), opinion="同意", no_objection=True)
    assert a.holder_org_id == hr.org_id
    return a, hr


@pytest.mark.rule("CF-INTEG-1")
def test_chifeng_county_bureau_disqualifies_and_the_record_runs_the_tenant_years(ctx):
    a, hr = chifeng_file()
    assert CF().policies.certificates.integrity_record_years == 3  # 七(一): 记录期限3年
    five = replace(CF(), policies=CF().policies.model_copy(update={
        "certificates": CF().policies.certificates.model_copy(
            update={"integrity_record_years": 5})}))
    other_county = f.make_user("chifeng", "cf-hr-n", "hr_officer", "cf-hr-ningcheng")
    with time_machine.travel(at(2026, 6, 20, 9), tick=False):
        with pytest.raises(Forbidden):  # a bureau not on the route
            transition(five, a, "disqualify", f.actor(other_county), kind="improper_means",
                       opinion="冒用他人业绩")
        transition(five, a, "disqualify", f.actor(hr), kind="improper_means",
                   opinion="冒用他人业绩")
    (rec,) = records()
    assert (rec.starts_on, rec.ends_on) == (date(2026, 6, 20), date(2031, 6, 20))
    assert a.status == Status.disqualified.value
    step = db.session.scalar(sa.select(ReviewStep).filter_by(application_id=a.id,
                                                            action="disqualify"))
    assert step.org_id == hr.org_id and "采取其他不正当手段" in step.opinion


@pytest.mark.rule("BJ-INTEG-1")
def test_the_office_disqualifies_from_its_page_with_a_required_reason(app, client, login):
    with app.app_context():
        a, clerk = beijing_file()
        f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
        app_id = a.id
    with time_machine.travel(at(2026, 8, 3, 9)):
        login("beijing", "ag")
        check = client.get(f"/beijing/agency/applications/{app_id}").get_data(as_text=True)
        assert f"/beijing/office/applications/{app_id}/integrity" in check
        page = client.get(f"/beijing/office/applications/{app_id}/integrity")
        assert page.status_code == 200 and "经核实的违规事实" in page.get_data(as_text=True)
        r = client.post(f"/beijing/office/applications/{app_id}/integrity",
                        data={"kind": "false_material", "opinion": ""})
        body = r.get_data(as_text=True)
        assert r.status_code == 200 and "请写明经核实的违规事实" in body
        with app.app_context():
            assert records() == []
        r = client.post(f"/beijing/office/applications/{app_id}/integrity",
                        data={"kind": "false_material", "opinion": "业绩证明系伪造",
                              "serious": "y"})
        assert r.status_code == 303
        assert "已取消申报资格" in client.get(r.location).get_data(as_text=True)
    with app.app_context():
        (rec,) = records()
        assert rec.serious and rec.application_id == app_id
