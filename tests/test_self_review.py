"""Becoming a self-review unit on Beijing's data (seed 002 第五条、第七条、第八条): who may
apply, the conditions checked on the application, and the route through the recommending office
to the city HR bureau's evaluation group and decision."""
import io
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, User
from app.models.self_review import SelfReviewApplication
from app.tenancy import tenants
from app.workflow import self_review as svc
from app.workflow.errors import Forbidden, Invalid
from app.workflow.transitions import transition

from . import factories as f


@pytest.fixture
def units(app):
    with app.app_context():
        f.make_employer("beijing", "hd-unit", "haidian")                     # district-owned
        f.make_employer("beijing", "np-unit", "chaoyang", kind="non_public", tier="city")
        f.make_employer("beijing", "city-unit", None, tier="city", parent="bj-dept-econ-info")
        f.make_employer("beijing", "rd-unit", "haidian", tier="city")
        for user, role, org in (("hd-clerk", "employer_clerk", "hd-unit"),
                                ("np-clerk", "employer_clerk", "np-unit"),
                                ("city-clerk", "employer_clerk", "city-unit"),
                                ("rd-clerk", "employer_clerk", "rd-unit"),
                                ("self-clerk", "employer_clerk", "bj-self-university"),
                                ("hr-hd", "hr_officer", "bj-hr-haidian"),
                                ("hr-cy", "hr_officer", "bj-hr-chaoyang"),
                                ("hr-city", "hr_officer", "bj-hr"),
                                ("dept", "department_clerk", "bj-dept-econ-info")):
            f.make_user("beijing", user, role, org)
    return app


def form(**kw):
    data = {"unit_type": "enterprise", "legal_person": "1", "total_staff": "200",
            "professional_staff": "150", "scope": ["engineering:associate_senior",
                                                   "engineering:senior"],
            "expert_key_0": "engineering:mechanical", "expert_count_0": "12",
            "expert_key_1": "engineering:electronics", "expert_count_1": "8",
            "influence": "本单位机械专业为行业标准主要起草单位。", "relaxation": "",
            "plan": (io.BytesIO(f.pdf_bytes()), "评审工作方案.pdf"),
            "standards": (io.BytesIO(f.pdf_bytes()), "评价标准.pdf")}
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def rows():
    return db.session.scalars(sa.select(SelfReviewApplication)).all()


def stored_files(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_DIR"]) / "beijing"
    return sorted(folder.glob("*")) if folder.is_dir() else []


def apply(client, **kw):
    return client.post("/beijing/self-review/apply", data=form(**kw),
                       content_type="multipart/form-data")


@pytest.mark.rule("SR-ELIG-1")
def test_civil_service_managed_institutions_are_refused_with_the_reason(units, client, login):
    login("beijing", "hd-clerk")
    page = apply(client, unit_type="civil_service_institution").get_data(as_text=True)
    assert "参照公务员法管理的事业单位不在可申请开展职称自主评审的单位范围内" in page
    assert "第五条" in page
    with units.app_context():
        assert rows() == []
        assert stored_files(units) == []
    # The three kinds the measures name may apply; any other value is refused.
    page = apply(client, unit_type="hospital").get_data(as_text=True)
    assert "请选择单位类型。" in page
    for kind in ("enterprise", "public_institution"):
        with units.app_context():
            db.session.execute(sa.delete(SelfReviewApplication))
            db.session.commit()
        assert apply(client, unit_type=kind).status_code == 303
        with units.app_context():
            assert [r.unit_type for r in rows()] == [kind]


@pytest.mark.rule("SR-ELIG-2")
def test_the_professional_share_is_computed_and_shown_and_refused_below_the_setting(
        units, client, login):
    with units.app_context():
        assert tenants()["beijing"].policies.self_review.min_professional_share == 0.70
    login("beijing", "hd-clerk")
    page = apply(client, total_staff="200", professional_staff="139").get_data(as_text=True)
    assert "专业技术人员139人，占职工总数200人的69.5%，低于70.0%" in page
    with units.app_context():
        assert rows() == [] and stored_files(units) == []
    # Exactly the share the tenant sets is enough; the page shows the computed share.
    r = apply(client, total_staff="200", professional_staff="140")
    assert r.status_code == 303
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "70.0%" in page and "140" in page and "200" in page


@pytest.mark.rule("SR-ELIG-2")
def test_the_engine_obeys_the_tenant_share(units):
    with units.app_context():
        cfg = tenants()["beijing"]
    assert cfg.policies.self_review.min_professional_share == 0.70
    stricter = cfg.policies.model_copy(update={"self_review": cfg.policies.self_review
                                               .model_copy(update={"min_professional_share": 0.8})})
    from dataclasses import replace
    strict_cfg = replace(cfg, policies=stricter)
    data = {"unit_type": "enterprise", "legal_person": True, "total_staff": "100",
            "professional_staff": "75", "scope": ["engineering:senior"],
            "experts": [{"key": "engineering:", "count": "5"}], "influence": "x"}
    assert svc.eligibility_problems(cfg, data)[0] == []
    found = [str(p) for p in svc.eligibility_problems(strict_cfg, data)[0]]
    assert len(found) == 1 and "75.0%" in found[0] and "80.0%" in found[0]


@pytest.mark.rule("SR-ELIG-2")
def test_every_condition_is_checked_and_nothing_is_saved(units, client, login):
    login("beijing", "hd-clerk")
    page = apply(client, legal_person=None, total_staff="abc", scope=["engineering:nonsense"],
                 expert_key_0="", expert_count_0="", expert_key_1="", expert_count_1="",
                 influence=" ", plan=(io.BytesIO(b"MZ not a scan"), "plan.pdf"),
                 standards=None).get_data(as_text=True)
    for text in ("独立法人资格", "请填写职工总数", "所选评审系列或级别不存在",
                 "可担任评审专家的高级职称人员人数", "影响力", "只接受PDF、JPEG或PNG格式",
                 "请上传评价标准"):
        assert text in page, text
    # Experts must cover each series asked for (第七条(三)).
    page = apply(client, scope=["engineering:senior", "economics:senior"]).get_data(as_text=True)
    assert "申请评审的经济系列没有相关专业的高级职称评审专家" in page
    with units.app_context():
        assert rows() == [] and stored_files(units) == []
    # A share below the line is accepted only with the breakthrough 第七条(六) relaxes it for,
    # and the figures stay in front of the recommender and the city HR bureau.
    r = apply(client, total_staff="100", professional_staff="50",
              relaxation="突破某关键核心技术，获国家科技进步一等奖。")
    assert r.status_code == 303
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "50.0%" in page and "突破某关键核心技术" in page


@pytest.mark.rule("SR-APPLY-1")
def test_routing_by_ownership(units, client, login):
    expected = {"hd-clerk": ("bj-hr-haidian", "district", "awaiting_recommendation"),
                "np-clerk": ("bj-hr-chaoyang", "non_public", "awaiting_recommendation"),
                "city-clerk": ("bj-dept-econ-info", "city", "awaiting_recommendation"),
                "rd-clerk": (None, "rd", "awaiting_evaluation")}
    for clerk, (code, ownership, status) in expected.items():
        login("beijing", clerk)
        kind = "rd_institute" if clerk == "rd-clerk" else "enterprise"
        assert apply(client, unit_type=kind).status_code == 303, clerk
        with units.app_context():
            clerk_org = db.session.scalar(sa.select(User.org_id).filter_by(username=clerk))
            row = db.session.scalar(sa.select(SelfReviewApplication).filter_by(org_id=clerk_org))
            assert (row.recommender.code if row.recommender else None, row.ownership,
                    row.status) == (code, ownership, status), clerk
    # A second application while one is under way is refused.
    page = apply(client, unit_type="rd_institute").get_data(as_text=True)
    assert "本单位已有一份申请正在办理中" in page


@pytest.mark.rule("SR-APPLY-1")
def test_a_city_unit_without_a_registered_department_names_one(units, client, login):
    with units.app_context():
        f.make_employer("beijing", "city-free", None, tier="city")
        f.make_user("beijing", "free-clerk", "employer_clerk", "city-free")
        dept = f.org("beijing", "bj-dept-econ-info").id
    login("beijing", "free-clerk")
    assert "市属单位须选择其主管部门" in apply(client).get_data(as_text=True)
    assert apply(client, department_org_id=str(dept)).status_code == 303
    with units.app_context():
        assert rows()[0].recommender_org_id == dept


def _ids(app, unit="hd-unit"):
    with app.app_context():
        row = db.session.scalar(sa.select(SelfReviewApplication).filter_by(
            org_id=f.org("beijing", unit).id))
        return row.id, row.version


@pytest.mark.rule("SR-APPLY-1")
def test_recommended_evaluated_and_approved_through_the_pages(units, client, login):
    login("beijing", "hd-clerk")
    apply(client)
    sr, version = _ids(units)
    # Another district's bureau does not see it; the department has no part in it.
    login("beijing", "hr-cy")
    assert client.get(f"/beijing/self-review/{sr}").status_code == 404
    login("beijing", "hr-hd")
    with units.app_context():
        hd = db.session.scalar(sa.select(User).filter_by(username="hr-hd"))
        assert [(w["count"], w["endpoint"]) for w in svc.waiting(hd, date(2026, 12, 2))] == \
            [(1, "selfreview.index")]
    page = client.get("/beijing/self-review/").get_data(as_text=True)
    assert "单位hd-unit" in page and "75.0%" in page and "待主管部门审核推荐" in page
    page = client.get(f"/beijing/self-review/{sr}").get_data(as_text=True)
    assert "75.0%" in page and "同意推荐" in page
    assert client.get(f"/beijing/self-review/{sr}/documents/plan").data.startswith(b"%PDF")
    page = client.post(f"/beijing/self-review/{sr}/recommend", data={"version": version},
                       follow_redirects=True).get_data(as_text=True)
    assert "请填写推荐意见" in page
    client.post(f"/beijing/self-review/{sr}/recommend",
                data={"version": version, "opinion": "经审核，符合第五条和第七条，同意推荐。"})
    login("beijing", "hr-city")
    with units.app_context():
        city = db.session.scalar(sa.select(User).filter_by(username="hr-city"))
        assert [w["count"] for w in svc.waiting(city, date(2026, 12, 2))] == [1]
    sr, version = _ids(units)
    page = client.post(f"/beijing/self-review/{sr}/form_group",
                       data={"version": version, "group": "张评估"},
                       follow_redirects=True).get_data(as_text=True)
    assert "评估组须列出成员姓名" in page
    client.post(f"/beijing/self-review/{sr}/form_group",
                data={"version": version, "group": "张评估\n李行业、王区局"})
    sr, version = _ids(units)
    findings = {"finding_qualification": "资质齐全", "finding_rules": "制度规范",
                "finding_experts": "专家充足", "finding_contribution": ""}
    page = client.post(f"/beijing/self-review/{sr}/approve", data={"version": version, **findings},
                       follow_redirects=True).get_data(as_text=True)
    assert "社会责任与贡献" in page
    page = client.post(f"/beijing/self-review/{sr}/approve",
                       data={"version": version, **findings, "finding_contribution": "贡献突出",
                             "approved": ["engineering:junior_staff"]},
                       follow_redirects=True).get_data(as_text=True)
    assert "须在申请范围内" in page
    client.post(f"/beijing/self-review/{sr}/approve",
                data={"version": version, **findings, "finding_contribution": "贡献突出",
                      "approved": ["engineering:associate_senior"]})
    login("beijing", "hd-clerk")
    page = client.get(f"/beijing/self-review/{sr}").get_data(as_text=True)
    assert "已确定为自主评审单位" in page and "张评估、李行业、王区局" in page
    assert "贡献突出" in page
    with units.app_context():
        row = db.session.get(SelfReviewApplication, sr)
        assert row.status == "approved" and row.findings["experts"] == "专家充足"
        # The bureau approved part of what was asked: 副高级 engineering, not 正高级.
        assert svc.approved_scope(row.tenant_id, row.org_id) == [
            {"series": "engineering", "level": "associate_senior"}]
        trail = db.session.execute(sa.select(AuditEvent.action, AuditEvent.actor_role,
                                             AuditEvent.to_state)
                                   .filter_by(subject_type="self_review_applications",
                                              subject_id=sr).order_by(AuditEvent.id)).all()
        assert [t.action for t in trail] == ["file", "recommend", "form_group", "approve"]
        assert trail[-1].to_state == "approved"


@pytest.mark.rule("SR-APPLY-1")
def test_refusals_carry_their_reasons_to_the_unit(units, client, login):
    with units.app_context():
        cfg = tenants()["beijing"]
    login("beijing", "city-clerk")
    apply(client)
    login("beijing", "np-clerk")
    apply(client)
    with units.app_context():
        by = {u: db.session.scalar(sa.select(User).filter_by(username=u))
              for u in ("dept", "hr-hd", "hr-cy", "hr-city")}
        city_app = db.session.scalar(sa.select(SelfReviewApplication).filter_by(
            org_id=f.org("beijing", "city-unit").id))
        np_app = db.session.scalar(sa.select(SelfReviewApplication).filter_by(
            org_id=f.org("beijing", "np-unit").id))
        # Only the unit's own recommender may act; the city HR bureau waits for it.
        for who in ("hr-hd", "hr-city"):
            with pytest.raises(Forbidden):
                transition(cfg, city_app, "recommend", f.actor(by[who]), opinion="同意")
        with pytest.raises(Invalid):
            transition(cfg, city_app, "not_recommend", f.actor(by["dept"]), opinion=" ")
        transition(cfg, city_app, "not_recommend", f.actor(by["dept"]),
                   opinion="专业技术人才队伍尚不稳定。")
        transition(cfg, np_app, "recommend", f.actor(by["hr-cy"]), opinion="同意推荐")
        with pytest.raises(Forbidden):
            transition(cfg, np_app, "form_group", f.actor(by["hr-cy"]), group="甲\n乙")
        transition(cfg, np_app, "form_group", f.actor(by["hr-city"]), group="甲\n乙")
        findings = {k: "意见" for k in svc.ASPECTS}
        with pytest.raises(Invalid):
            transition(cfg, np_app, "refuse", f.actor(by["hr-city"]), findings=findings)
        transition(cfg, np_app, "refuse", f.actor(by["hr-city"]), findings=findings,
                   opinion="评审标准未经集体决策程序。")
        assert svc.approved_scope(np_app.tenant_id, np_app.org_id) == []
        city_id, np_id = city_app.id, np_app.id
    login("beijing", "city-clerk")
    page = client.get(f"/beijing/self-review/{city_id}").get_data(as_text=True)
    assert "未获推荐" in page and "专业技术人才队伍尚不稳定" in page
    login("beijing", "np-clerk")
    page = client.get(f"/beijing/self-review/{np_id}").get_data(as_text=True)
    assert "未通过评估" in page and "评审标准未经集体决策程序" in page
    # Once decided, a new application may be filed.
    assert apply(client).status_code == 303
