"""The expert pool's pages, without JavaScript: a district HR bureau nominates (and is told why
it may not nominate another district's expert), the agency vets, the city HR bureau approves;
the expert updates their data, the employer and the agency check it; the agency records a
session's training and an expert's assessment."""
import re
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import Expert, User
from app.models.expert_pool import ExpertAssessment, ExpertChange, ExpertTraining

from . import factories as f
from .conftest import at
from .test_review import drawn_session


@pytest.fixture
def setup(app):
    with app.app_context():
        f.make_employer("beijing", "hd-unit", "haidian")
        f.make_employer("beijing", "xc-unit", "xicheng")
        f.make_user("beijing", "hr-hd", "hr_officer", "bj-hr-haidian")
        f.make_user("beijing", "hr-city", "hr_officer", "bj-hr")
        f.make_user("beijing", "unit-clerk", "employer_clerk", "hd-unit")
        ag = f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng")
        e = f.make_expert("beijing", "老专家")
        e.agency_org_id = ag.org_id
        db.session.commit()
        return {"hd": f.org("beijing", "hd-unit").id, "xc": f.org("beijing", "xc-unit").id,
                "agency": ag.org_id, "expert": e.user.username, "expert_id": e.id}


def nomination(employer_id, agency_id, **kw):
    return {"name": "页面专家", "gender": "female", "id_number": "110108198506150101",
            "birth_date": "1985-06-15", "mobile": "13912345678", "title_level": "senior",
            "title_year": "2016", "series": "engineering", "specialty": "",
            "employer_org_id": employer_id, "agency_org_id": agency_id, **kw}


@pytest.mark.rule("AE-EXP-1", "AE-EXP-6")
def test_nominate_vet_and_approve_through_the_pages(app, client, login, setup):
    login("beijing", "hr-hd")
    page = client.post("/beijing/pool/nominations",
                       data=nomination(setup["xc"], setup["agency"])).get_data(as_text=True)
    assert "由所在区人力资源社会保障部门推荐" in page and "单位xc-unit" in page
    with app.app_context():
        assert db.session.scalar(sa.select(Expert).filter_by(name="页面专家")) is None
    r = client.post("/beijing/pool/nominations", data=nomination(setup["hd"], setup["agency"]),
                    follow_redirects=True)
    body = r.get_data(as_text=True)
    assert "待评审服务机构审核" in body and "110*************01" in body
    assert "110108198506150101" not in body
    with app.app_context():
        e = db.session.scalar(sa.select(Expert).filter_by(name="页面专家"))
        e_id, version = e.id, e.version
    assert client.get("/beijing/pool/vetting").status_code == 403
    client.post("/beijing/logout")

    login("beijing", "ag")
    assert f"nominee-{e_id}" in client.get("/beijing/pool/vetting").get_data(as_text=True)
    returned = client.post(f"/beijing/pool/vetting/{e_id}/vet_return",
                           data={"version": version, "opinion": ""}, follow_redirects=True)
    assert "请填写退回理由。" in returned.get_data(as_text=True)
    client.post(f"/beijing/pool/vetting/{e_id}/vet_pass",
                data={"version": version, "role": "vice_chair"})
    client.post("/beijing/logout")

    with time_machine.travel(at(2026, 11, 3, 9), tick=False):
        login("beijing", "hr-city")
        assert f"vetted-{e_id}" in client.get("/beijing/pool/approvals").get_data(as_text=True)
        done = client.post(f"/beijing/pool/approvals/{e_id}/approve",
                           data={"version": version + 1}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "已办理。" in page
    password = re.search(r"初始密码（仅显示一次，请转告专家）：(\S+?)<", page).group(1)
    with app.app_context():
        e = db.session.get(Expert, e_id)
        assert (e.status, e.role, e.approved_on) == ("approved", "vice_chair", date(2026, 11, 3))
        assert e.user.role == "expert" and e.user.mobile == "13912345678"
    client.post("/beijing/logout")

    # The expert signs in with their mobile number and sees their own data.
    login("beijing", "13912345678", password)
    assert "页面专家" in client.get("/beijing/pool/me").get_data(as_text=True)
    client.post("/beijing/logout")
    login("beijing", "hr-city")
    assert f"vetted-{e_id}" not in client.get("/beijing/pool/approvals").get_data(as_text=True)
    # Measures 第十五条(二): the city HR bureau invites, naming the agency that vets.
    page = client.get("/beijing/pool/nominations").get_data(as_text=True)
    assert "邀请专家入库" in page and 'name="agency_org_id"' in page


@pytest.mark.rule("AE-EXP-4")
def test_expert_updates_and_employer_and_agency_check_through_the_pages(app, client, login,
                                                                       setup):
    login("beijing", setup["expert"])
    page = client.get("/beijing/pool/me").get_data(as_text=True)
    assert "老专家" in page and 'id="update"' in page
    client.post("/beijing/pool/me", data={
        "title_level": "senior", "title_year": "2015", "series": "engineering",
        "specialty": "", "employer_org_id": setup["hd"], "employer_name": "",
        "mobile": "13600001234"})
    page = client.get("/beijing/pool/me").get_data(as_text=True)
    assert "待所在单位核对" in page and 'id="update"' not in page
    with app.app_context():
        change = db.session.scalar(sa.select(ExpertChange))
        c_id, version = change.id, change.version
        assert change.data["available"] is False  # the box was left unticked
    client.post("/beijing/logout")

    login("beijing", "unit-clerk")
    assert f"change-{c_id}" in client.get("/beijing/pool/changes").get_data(as_text=True)
    client.post(f"/beijing/pool/changes/{c_id}/pass", data={"version": version})
    client.post("/beijing/logout")

    login("beijing", "ag")
    assert f"change-{c_id}" in client.get("/beijing/pool/changes").get_data(as_text=True)
    client.post(f"/beijing/pool/changes/{c_id}/pass", data={"version": version + 1})
    with app.app_context():
        e = db.session.get(Expert, setup["expert_id"])
        assert (e.employer_org_id, e.available, e.mobile_masked) == (
            setup["hd"], False, "136****1234")


@pytest.mark.rule("AE-DUTY-1", "AE-SUPERV-1")
def test_training_and_assessment_through_the_pages(app, client, login, setup):
    with app.app_context():
        agency = db.session.scalar(sa.select(User).filter_by(username="ag"))
        s, _, chair = drawn_session(agency, 1, 5, ready=False)
        s_id, chair_expert = s.id, chair.expert_id
    login("beijing", "ag")
    page = client.get(f"/beijing/pool/sessions/{s_id}/training").get_data(as_text=True)
    assert f'value="{chair_expert}"' in page
    client.post(f"/beijing/pool/sessions/{s_id}/training", data={"expert": [chair_expert]})
    page = client.get(f"/beijing/pool/sessions/{s_id}/training").get_data(as_text=True)
    assert f'value="{chair_expert}"' not in page and "已登记" in page
    with app.app_context():
        assert db.session.scalars(sa.select(ExpertTraining.expert_id)).all() == [chair_expert]

    client.post("/beijing/logout")
    with time_machine.travel(at(2026, 12, 10, 9), tick=False):
        login("beijing", "ag")
        page = client.get("/beijing/pool/assessments?year=2026").get_data(as_text=True)
        assert f'id="expert-{setup["expert_id"]}"' in page
        bad = client.post(f"/beijing/pool/assessments/{setup['expert_id']}",
                          data={"year": 2026, "result": "fail"}, follow_redirects=True)
        assert "考核不合格须写明理由。" in bad.get_data(as_text=True)
        client.post(f"/beijing/pool/assessments/{setup['expert_id']}",
                    data={"year": 2026, "result": "fail", "note": "未按时完成评审工作"})
    with app.app_context():
        e = db.session.get(Expert, setup["expert_id"])
        assert (e.exit_reason, e.exit_note) == ("failed_assessment", "未按时完成评审工作")
        assert db.session.scalar(sa.select(sa.func.count(ExpertAssessment.id))) == 1
