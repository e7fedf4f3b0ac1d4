"""The large-text and high-contrast modes (issue 16 §4, GB/T 37668): a plain form in every
page's header turns each on or off; a cookie of its own keeps the choice across pages, sign-in
and sign-out; the page's <html> carries the chosen modes as classes. Also the page furniture
for keyboards and screen readers (skip link, main landmark, language of the other-language
link) and the column labels that phones show beside each cell."""
import re

import pytest
import time_machine

from app.tenancy import tenants
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at

HTML_TAG = re.compile(r"<html[^>]*>")


def _html_classes(resp) -> set[str]:
    tag = HTML_TAG.search(resp.get_data(as_text=True)).group(0)
    m = re.search(r'class="([^"]*)"', tag)
    return set(m.group(1).split()) if m else set()


def _toggle(client, mode: str, nxt: str = "/beijing/login"):
    return client.post("/display", data={"toggle": mode, "next": nxt})


def test_each_mode_turns_on_and_off_and_returns_to_the_page(client):
    assert _html_classes(client.get("/beijing/login")) == set()
    resp = _toggle(client, "large")
    assert resp.status_code == 303 and resp.headers["Location"] == "/beijing/login"
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("display=large;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert _html_classes(client.get("/beijing/login")) == {"large"}
    _toggle(client, "contrast")
    assert _html_classes(client.get("/beijing/register")) == {"large", "contrast"}
    _toggle(client, "large")
    assert _html_classes(client.get("/beijing/")) == {"contrast"}
    resp = _toggle(client, "contrast")
    assert "display=;" in resp.headers["Set-Cookie"]  # deleted: nothing chosen
    assert _html_classes(client.get("/beijing/login")) == set()


def test_the_buttons_say_which_mode_is_on(client):
    _toggle(client, "contrast")
    page = client.get("/beijing/login").get_data(as_text=True)
    assert re.search(r'value="contrast" aria-pressed="true"', page)
    assert re.search(r'value="large" aria-pressed="false"', page)
    assert 'name="next" value="/beijing/login"' in page


def test_an_unknown_mode_or_a_forged_cookie_changes_nothing(client):
    _toggle(client, "large")
    assert _toggle(client, "blink").status_code == 303
    assert _html_classes(client.get("/beijing/login")) == {"large"}
    client.set_cookie("display", 'large.x" onload="evil')
    assert _html_classes(client.get("/beijing/login")) == {"large"}


@pytest.mark.parametrize("nxt", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                 "", "beijing/login"])
def test_only_a_path_of_this_site_is_returned_to(client, nxt):
    resp = _toggle(client, "large", nxt)
    assert resp.status_code == 303 and resp.headers["Location"] == "/"


def test_the_choice_outlives_sign_in_and_sign_out(app, client, login):
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        f.make_user("beijing", "a1", "applicant", "emp")
    _toggle(client, "large")
    login("beijing", "a1")
    assert _html_classes(client.get("/beijing/home")) == {"large"}
    _toggle(client, "contrast", "/beijing/home")
    client.post("/beijing/logout")
    assert _html_classes(client.get("/beijing/login")) == {"large", "contrast"}


def test_pages_carry_a_skip_link_a_main_landmark_and_the_language(client):
    page = client.get("/beijing/login").get_data(as_text=True)
    assert re.search(r'<html lang="zh-CN"', page)
    assert re.search(r'<a class="skip" href="#main">跳到主要内容</a>', page)
    assert '<main id="main"' in page
    assert re.search(r'hreflang="en" lang="en">English</a>', page)
    page = client.get("/beijing/login?lang=en").get_data(as_text=True)
    assert re.search(r'<html lang="en"', page) and "Skip to main content" in page
    assert re.search(r'hreflang="zh-CN" lang="zh-CN">中文</a>', page)


def test_table_cells_carry_their_column_label(app, client, login):
    """On a phone each row is a card and each cell shows its column's label (data-label)."""
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        f.make_user("beijing", "c1", "employer_clerk", "emp")
        user = f.make_user("beijing", "a1", "applicant", "emp", name="欧阳明珠")
        a = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering",
                               "intermediate", "mechanical")
        with time_machine.travel(at(2026, 7, 8, 9), tick=False):
            transition(tenants()["beijing"], a, "submit", f.actor(user), pledge=f.PLEDGE)
    login("beijing", "c1")
    page = client.get("/beijing/office/").get_data(as_text=True)
    heads = re.findall(r"<th>(?:<span[^>]*>)?([^<]*)", page.split("<thead>", 1)[1].split(
        "</thead>", 1)[0])
    row = page.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    labels = re.findall(r'<td data-label="([^"]*)"', row)
    assert labels == heads and "申报人" in labels
    assert re.search(r'<input type="checkbox"[^>]*aria-label="选择 欧阳明珠"', row)  # labelled per row
