"""Freelancers in Beijing (一, BJ-SCOPE-3): recent work in Beijing in a listed field, declared
and evidenced, recommended by a listed association, only in 艺术 and 工艺美术."""
from datetime import date, timedelta

import pytest
import time_machine

from app.extensions import db
from app.models import Attachment, Status
from app.tenancy import tenants
from app.workflow.errors import Invalid
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at

WHEN = at(2026, 7, 10, 10)


def submit(app, user):
    with time_machine.travel(WHEN, tick=False):
        transition(tenants()["beijing"], app, "submit", f.actor(user), pledge=f.PLEDGE)


def problems_of(app, user) -> list[str]:
    with pytest.raises(Invalid) as e:
        submit(app, user)
    return [str(p) for p in e.value.problems]


def freelancer(association="bj-assoc-art", username="fr"):
    return f.make_user("beijing", username, "applicant", person_type="freelancer",
                       association=association)


def art_file(user, series="art", **basic):
    app = f.make_application("beijing", user, "bj-2026", "bj-art", series, "intermediate",
                             materials={"association_recommendation": 1,
                                        "freelance_evidence": 1})
    app.basic = {**app.basic, **basic}
    db.session.commit()
    return app


def years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years)


@pytest.mark.rule("BJ-SCOPE-3")
def test_the_declaration_and_the_evidence_are_required(ctx):
    user = freelancer()
    app = f.make_application("beijing", user, "bj-2026", "bj-art", "art", "intermediate",
                             materials={"association_recommendation": 1})
    app.basic = {k: v for k, v in app.basic.items()
                 if k not in ("freelance_field", "freelance_since")}
    db.session.commit()
    found = problems_of(app, user)
    assert any("选择从事的专业领域" in p for p in found)
    assert any("在京从事自由职业的起始日期" in p for p in found)
    assert any("近1年在京从事自由职业的证明" in p for p in found)  # the checklist's evidence
    evidence = next(m for m in tenants()["beijing"].checklist.material
                    if m.code == "freelance_evidence")
    assert evidence.required_when.value == "freelancer"


@pytest.mark.rule("BJ-SCOPE-3")
def test_recent_work_in_beijing_counts_back_from_the_close_by_the_tenants_years(ctx):
    cfg = tenants()["beijing"]
    rule = cfg.policies.freelancer
    assert rule.min_years == 1 and {f.code for f in rule.fields} >= {"stage_film", "arts_crafts"}
    user = freelancer()
    close = next(w for w in f.plan("beijing", "bj-2026").windows if w.stage == "apply").closes_on
    short = art_file(user, freelance_field="fine_art",
                     freelance_since=(years_before(close, rule.min_years)
                                      + timedelta(days=1)).isoformat())
    found = problems_of(short, user)
    assert any(f"须近{rule.min_years}年在京" in p for p in found), found
    short.basic = {**short.basic, "freelance_since": years_before(close, rule.min_years)
                   .isoformat()}
    db.session.commit()
    submit(short, user)
    assert short.status == Status.recommended.value  # straight to the agency (BJ-FREE-1)


@pytest.mark.rule("BJ-SCOPE-3")
def test_a_field_not_in_the_list_is_refused(ctx):
    user = freelancer()
    app = art_file(user, freelance_field="software")
    assert any("选择从事的专业领域" in p for p in problems_of(app, user))


@pytest.mark.rule("BJ-SCOPE-3")
def test_the_recommending_association_must_cover_the_series(ctx):
    art_only = freelancer("bj-assoc-art", "fr1")
    crafts = art_file(art_only, series="arts_crafts")
    assert any("不推荐该系列" in p for p in problems_of(crafts, art_only))
    crafter = freelancer("bj-assoc-crafts", "fr2")
    ok = art_file(crafter, series="arts_crafts")
    submit(ok, crafter)
    assert ok.status == Status.recommended.value
    assert ok.steps[-1].org_id == f.org("beijing", "bj-assoc-crafts").id


@pytest.mark.rule("BJ-SCOPE-3")
def test_only_art_and_crafts_and_the_declaration_is_saved_from_the_form(app, client, login):
    with app.app_context():
        user = freelancer()
        file = f.make_application("beijing", user, "bj-2026", "bj-art", "art", "intermediate",
                                  complete=False)
        file_id = file.id
        assert tenants()["beijing"].policies.freelancer_series == ["art", "arts_crafts"]
    url = f"/beijing/me/applications/{file_id}/basic"
    with time_machine.travel(WHEN, tick=False):
        login("beijing", "fr")
        resp = client.get(f"/beijing/me/applications/{file_id}")
        page = resp.get_data(as_text=True)
        assert resp.status_code == 200
        assert 'name="freelance_field"' in page and "舞台影视" in page
        bad = client.post(url, data={"gender": "female", "freelance_field": "software",
                                     "freelance_since": "2020-03-01"}, follow_redirects=True)
        assert "请从列表中选择从事的专业领域" in bad.get_data(as_text=True)
        with app.app_context():
            assert "freelance_field" not in (db.session.get(type(file), file_id).basic or {})
        future = client.post(url, data={"freelance_field": "fine_art",
                                        "freelance_since": "2026-08-01"}, follow_redirects=True)
        assert "不能晚于今天" in future.get_data(as_text=True)
        client.post(url, data={"gender": "female", "birth_date": "1990-01-01",
                               "freelance_field": "fine_art", "freelance_since": "2020-03-01"})
    with app.app_context():
        basic = db.session.get(type(file), file_id).basic
        assert (basic["freelance_field"], basic["freelance_since"]) == ("fine_art", "2020-03-01")


@pytest.mark.rule("BJ-SCOPE-3")
def test_other_applicants_declare_nothing(app, client, login):
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        user = f.make_user("beijing", "pro", "applicant", "emp", person_type="professional")
        file = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering",
                                  "intermediate", "mechanical")
        file_id = file.id
    with time_machine.travel(WHEN, tick=False):
        login("beijing", "pro")
        resp = client.get(f"/beijing/me/applications/{file_id}")
        page = resp.get_data(as_text=True)
        assert resp.status_code == 200 and 'name="birth_date"' in page
        assert 'name="freelance_field"' not in page
        client.post(f"/beijing/me/applications/{file_id}/basic",
                    data={"gender": "male", "birth_date": "1985-06-16",
                          "freelance_field": "fine_art", "freelance_since": "2020-03-01"})
    with app.app_context():
        basic = db.session.get(type(file), file_id).basic
        assert basic["birth_date"] == "1985-06-16" and "freelance_field" not in basic
