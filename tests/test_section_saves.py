"""Each section of the application saves on its own; a refused save comes back with what was
typed; a save that arrives after the session ran out is kept (encrypted, in Redis, under a token
in an HttpOnly cookie) and, after sign-in, the same section shows the text again, to its owner
only, once, and not after UNSAVED_FORM_MINUTES."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import Application, Entry
from app.unsaved import COOKIE

from . import factories as f
from .conftest import PASSWORD, at, build_app

HX = {"HX-Request": "true"}
WHEN = at(2026, 7, 10, 10)
TITLE = "高级工程师（待定）"
PAPER = {"title": "大跨度钢结构节点疲劳研究", "journal": "土木工程学报", "year": "2024"}


def _draft(username: str = "a1", employer: str = "emp") -> int:
    if f.org("beijing", employer) is None:
        f.make_employer("beijing", employer, "haidian")
    user = f.make_user("beijing", username, "applicant", employer)
    return f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering",
                              "intermediate", "mechanical", complete=False).id


@pytest.fixture
def draft(app, redis_url):
    app.config["REDIS_URL"] = redis_url
    with app.app_context():
        return _draft()


def _basic(title: str = TITLE, birth: str = "1985-06-15") -> dict:
    return {"gender": "male", "birth_date": birth, "current_title": title}


def _state(app, app_id: int) -> tuple[dict, int]:
    with app.app_context():
        row = db.session.get(Application, app_id)
        entries = db.session.scalar(sa.select(sa.func.count(Entry.id)).filter_by(
            application_id=app_id))
        return dict(row.basic or {}), entries


def _cookie(client):
    return client.get_cookie(COOKIE, path="/beijing/")


# -- each section on its own ------------------------------------------------------------------

def test_the_basic_section_saves_alone_and_htmx_answers_with_its_status(app, client, login,
                                                                         draft):
    with time_machine.travel(WHEN, tick=False):
        login("beijing", "a1")
        r = client.post(f"/beijing/me/applications/{draft}/basic", data=_basic(), headers=HX)
        body = r.get_data(as_text=True)
        # The status where the form is and the policy verdict and submit box out of band: no
        # field comes back, so nothing the user is typing in the next field is replaced.
        assert r.status_code == 200 and "已保存 10:00" in body
        assert "<input" not in body.split('<section id="submit"')[0]
        assert '<div id="policy-verdict" hx-swap-oob="true">' in body
        assert '<section id="submit" class="box" hx-swap-oob="true">' in body
        basic, entries = _state(app, draft)
        assert basic["current_title"] == TITLE and entries == 0
        # A list section's row saves alone too: the basic section is left as it was.
        r = client.post(f"/beijing/me/applications/{draft}/entries/papers", data=PAPER)
        assert r.status_code == 303 and r.location.endswith(f"/{draft}#papers")
        assert _state(app, draft) == (basic, 1)


def test_the_page_wires_saving_on_leaving_a_field_and_still_has_the_save_button(client, login,
                                                                                 draft):
    with time_machine.travel(WHEN, tick=False):
        login("beijing", "a1")
        page = client.get(f"/beijing/me/applications/{draft}").get_data(as_text=True)
    basic = page[page.index('<section id="basic"'):page.index("</section>")]
    assert 'hx-trigger="change, submit"' in basic and 'hx-target="find .save-status"' in basic
    assert f'action="/beijing/me/applications/{draft}/basic"' in basic and "保存本栏" in basic
    assert 'data-save-failed="保存失败，内容仍在页面上，请稍后重试。"' in basic
    assert re.search(r'<script src="/static/js/sections\.js\?v=\w+" defer>', page)


# -- a refused save keeps the text ------------------------------------------------------------

def test_a_refused_basic_save_comes_back_with_what_was_typed(app, client, login, draft):
    before = _state(app, draft)
    with time_machine.travel(WHEN, tick=False):
        login("beijing", "a1")
        url = f"/beijing/me/applications/{draft}/basic"
        r = client.post(url, data=_basic(birth="1985-13-45"))
        page = r.get_data(as_text=True)
        assert r.status_code == 422 and "出生日期格式应为年-月-日" in page
        assert 'value="1985-13-45"' in page and f'value="{TITLE}"' in page
        r = client.post(url, data=_basic(birth="1985-13-45"), headers=HX)
        assert r.status_code == 422 and "出生日期格式应为年-月-日" in r.get_data(as_text=True)
        assert _state(app, draft) == before
        # The next try, corrected, is saved.
        assert client.post(url, data=_basic(), headers=HX).status_code == 200
    assert _state(app, draft)[0]["birth_date"] == "1985-06-15"


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_refused_row_comes_back_with_what_was_typed(app, client, login, draft, htmx):
    with time_machine.travel(WHEN, tick=False):
        login("beijing", "a1")
        r = client.post(f"/beijing/me/applications/{draft}/entries/papers",
                        data={**PAPER, "year": "二〇二四"}, headers=HX if htmx else {})
        body = r.get_data(as_text=True)
    assert r.status_code == 422 and "年份应为四位年份" in body
    section = body[body.index('<section id="papers"'):]
    section = section[:section.index("</section>")]
    assert f'value="{PAPER["title"]}"' in section and 'value="二〇二四"' in section
    assert ("<html" in body) is not htmx
    assert _state(app, draft)[1] == 0


# -- a session that ran out -------------------------------------------------------------------

def _expire_and_post(client, draft, data=None, path="basic", headers=None):
    """Sign in at 10:00, post the section after 31 idle minutes."""
    with time_machine.travel(WHEN, tick=False):
        client.post("/beijing/login", data={"username": "a1", "password": PASSWORD})
    with time_machine.travel(at(2026, 7, 10, 10, 31), tick=False):
        return client.post(f"/beijing/me/applications/{draft}/{path}",
                           data=data or _basic(), headers=headers or {})


def _sign_in(client, location: str, username: str = "a1"):
    with time_machine.travel(at(2026, 7, 10, 10, 35), tick=False):
        return client.post(location, data={"username": username, "password": PASSWORD})


def test_an_expired_session_returns_after_sign_in_to_the_section_with_the_text(app, client,
                                                                                draft):
    before = _state(app, draft)
    r = _expire_and_post(client, draft)
    assert r.status_code == 302
    assert unquote(r.location) == f"/beijing/login?next=/beijing/me/applications/{draft}#basic"
    assert _state(app, draft) == before  # not saved
    cookie = _cookie(client)
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    # No personal data in the URL or the cookie: the cookie is a random token.
    assert TITLE not in unquote(r.location) and "1985" not in cookie.value
    with time_machine.travel(at(2026, 7, 10, 10, 34), tick=False):
        login_page = client.get(r.location).get_data(as_text=True)
    assert "刚才填写的内容尚未保存，已为您暂存" in login_page
    r = _sign_in(client, r.location)
    assert r.status_code == 303 and r.location == f"/beijing/me/applications/{draft}#basic"
    with time_machine.travel(at(2026, 7, 10, 10, 35), tick=False):
        page = client.get(r.location).get_data(as_text=True)
        basic = page[page.index('<section id="basic"'):]
        basic = basic[:basic.index("</section>")]
        assert f'value="{TITLE}"' in basic and 'value="1985-06-15"' in basic
        assert "尚未保存的内容，请核对后保存" in basic
        assert _cookie(client) is None
        # Given back once: the kept copy is gone.
        again = client.get(f"/beijing/me/applications/{draft}").get_data(as_text=True)
        assert TITLE not in again
    assert _state(app, draft) == before


def test_a_list_section_row_comes_back_in_its_own_section(app, client, draft):
    r = _expire_and_post(client, draft, PAPER, "entries/papers")
    assert unquote(r.location).endswith(f"next=/beijing/me/applications/{draft}#papers")
    r = _sign_in(client, r.location)
    with time_machine.travel(at(2026, 7, 10, 10, 35), tick=False):
        page = client.get(r.location).get_data(as_text=True)
    papers = page[page.index('<section id="papers"'):]
    papers = papers[:papers.index("</section>")]
    assert f'value="{PAPER["title"]}"' in papers and 'value="2024"' in papers
    assert "尚未保存的内容" in papers
    assert f'value="{PAPER["title"]}"' not in page.replace(papers, "")
    assert _state(app, draft)[1] == 0


def test_an_htmx_save_after_the_session_ran_out_loads_the_sign_in_page(app, client, draft):
    r = _expire_and_post(client, draft, headers=HX)
    assert r.status_code == 200 and not r.get_data()  # nothing to swap into the section
    assert unquote(r.headers["HX-Redirect"]) == (
        f"/beijing/login?next=/beijing/me/applications/{draft}#basic")
    assert _cookie(client) is not None


def test_the_kept_text_is_only_for_the_owner_of_the_application(app, client, draft):
    with app.app_context():
        other = _draft("b1")
    r = _expire_and_post(client, draft)
    login_url = r.location
    # Another applicant signs in on the same browser: neither their own page nor the first
    # applicant's shows the text.
    r = _sign_in(client, login_url, "b1")
    with time_machine.travel(at(2026, 7, 10, 10, 35), tick=False):
        assert client.get(r.location).status_code == 404
        own = client.get(f"/beijing/me/applications/{other}").get_data(as_text=True)
        assert TITLE not in own and "尚未保存的内容" not in own
        client.post("/beijing/logout")
    # The owner still finds it.
    r = _sign_in(client, login_url)
    with time_machine.travel(at(2026, 7, 10, 10, 36), tick=False):
        assert f'value="{TITLE}"' in client.get(r.location).get_data(as_text=True)


def test_the_kept_text_expires(app, client, draft):
    minutes = app.config["UNSAVED_FORM_MINUTES"]
    r = _expire_and_post(client, draft)
    with time_machine.travel(at(2026, 7, 10, 10, 32) + timedelta(minutes=minutes), tick=False):
        assert client.post(r.location, data={"username": "a1", "password": PASSWORD}
                           ).status_code == 303
        assert _cookie(client) is not None  # the browser still sends it; the server refuses
        page = client.get(f"/beijing/me/applications/{draft}").get_data(as_text=True)
    assert TITLE not in page and "尚未保存的内容" not in page


def test_without_redis_the_user_is_still_sent_to_sign_in_and_told(app, client, draft):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    r = _expire_and_post(client, draft)
    assert r.status_code == 302 and "/beijing/login" in r.location
    assert _cookie(client) is None
    with time_machine.travel(at(2026, 7, 10, 10, 32), tick=False):
        assert "未能暂存" in client.get(r.location).get_data(as_text=True)


def test_a_few_kept_forms_per_address_at_most(app, client, draft):
    app.config["UNSAVED_FORM_LIMIT"] = "1/hour"
    first = _expire_and_post(client, draft)
    assert _cookie(client) is not None
    client.delete_cookie(COOKIE, path="/beijing/")
    with time_machine.travel(at(2026, 7, 10, 10, 32), tick=False):
        second = client.post(f"/beijing/me/applications/{draft}/basic", data=_basic())
        assert second.location == first.location and _cookie(client) is None
        assert "未能暂存" in client.get(second.location).get_data(as_text=True)


def test_an_htmx_request_signed_out_elsewhere_returns_to_the_page_it_came_from(client, draft):
    with time_machine.travel(WHEN, tick=False):
        r = client.get("/beijing/me/", headers={
            **HX, "HX-Current-URL": "http://localhost/beijing/me/?tab=2"})
    assert r.status_code == 200 and unquote(r.headers["HX-Redirect"]) == (
        "/beijing/login?next=/beijing/me/?tab=2")
    assert _cookie(client) is None


# -- the CSRF token went with the session -----------------------------------------------------

@pytest.fixture
def csrf_app(tmp_path, database_url, redis_url):
    app = build_app(database_url or f"sqlite:///{tmp_path / 'c.db'}", tmp_path,
                    WTF_CSRF_ENABLED=True, REDIS_URL=redis_url)
    with app.app_context():
        app_id = _draft()
    return app, app_id


def _page_token(client, app_id: int) -> str:
    with time_machine.travel(WHEN, tick=False):
        page = client.get("/beijing/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        client.post("/beijing/login", data={"username": "a1", "password": PASSWORD,
                                            "csrf_token": token})
        page = client.get(f"/beijing/me/applications/{app_id}").get_data(as_text=True)
    return page.split('"X-CSRFToken": "')[1].split('"')[0]


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_stale_csrf_token_of_a_signed_out_page_leads_to_the_same_restore(csrf_app, htmx):
    app, app_id = csrf_app
    client = app.test_client()
    token = _page_token(client, app_id)
    url = f"/beijing/me/applications/{app_id}/basic"
    same_site = {"Origin": "http://localhost", **(HX if htmx else {})}
    with time_machine.travel(at(2026, 7, 10, 10, 31), tick=False):  # the session has run out
        r = client.post(url, data={**_basic(), "csrf_token": token},
                        headers={**same_site, "X-CSRFToken": token})
    target = r.headers["HX-Redirect"] if htmx else r.location
    assert r.status_code == (200 if htmx else 302)
    assert unquote(target) == f"/beijing/login?next=/beijing/me/applications/{app_id}#basic"
    with time_machine.travel(at(2026, 7, 10, 10, 32), tick=False):
        page = client.get(target).get_data(as_text=True)
        login_token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        r = client.post(target, data={"username": "a1", "password": PASSWORD,
                                      "csrf_token": login_token})
        assert r.location == f"/beijing/me/applications/{app_id}#basic"
        assert f'value="{TITLE}"' in client.get(r.location).get_data(as_text=True)


def test_a_csrf_failure_from_another_site_or_a_signed_in_user_is_still_refused(csrf_app):
    app, app_id = csrf_app
    client = app.test_client()
    token = _page_token(client, app_id)
    url = f"/beijing/me/applications/{app_id}/basic"
    with time_machine.travel(WHEN, tick=False):  # signed in, wrong token
        assert client.post(url, data={**_basic(), "csrf_token": "forged"},
                           headers={"Origin": "http://localhost"}).status_code == 400
    with time_machine.travel(at(2026, 7, 10, 10, 31), tick=False):
        for headers in ({"Origin": "https://elsewhere.example"},
                        {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"}, {}):
            r = client.post(url, data={**_basic(), "csrf_token": token}, headers=headers)
            assert r.status_code == 400, headers
    assert _cookie(client) is None
