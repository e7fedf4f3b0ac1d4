"""Headers, downloads and submitted text (issue 11 §4; DESIGN §7 Trust): every response carries
a CSP without inline script or style, nosniff, a same-origin referrer and no framing; HSTS only
over TLS; signed-in pages and downloads are not stored; static files carry no cookie and keep
their year-long cache; scans download as attachments; control characters are refused with a
message before anything is saved."""
import io
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from app.extensions import db
from app.models import Application, Attachment, Org

from . import factories as f
from .conftest import at

ROOT = Path(__file__).resolve().parent.parent
WORKING = at(2026, 7, 10, 10)


@pytest.fixture
def draft(app):
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        user = f.make_user("beijing", "a1", "applicant", "emp")
        row = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering",
                                 "intermediate", "mechanical", complete=False)
        return row.id


def assert_common_headers(resp):
    h = resp.headers
    csp = dict(part.strip().split(" ", 1) for part in h["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'self'" and csp["object-src"] == "'none'"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"  # nothing inline
    assert csp["frame-ancestors"] == "'none'" and csp["base-uri"] == "'none'"
    assert "unsafe" not in h["Content-Security-Policy"]
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in h  # plain HTTP: HSTS would mean nothing


def _upload(client, app_id, data, name="扫描件.pdf"):
    return client.post(f"/beijing/me/applications/{app_id}/attachments",
                       data={"material": "id_card", "scan": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


# -- headers on a sample of every kind of response -------------------------------------------------

@pytest.mark.parametrize("path,status", [
    ("/", 200), ("/beijing/", 200), ("/beijing/login", 200), ("/beijing/register", 200),
    ("/chifeng/employers/register", 200), ("/beijing/directory", 200), ("/beijing/results/", 200),
    ("/beijing/certificates/verify", 200), ("/beijing/no-such-page", 404),
    ("/no-such-tenant/", 404), ("/beijing/me/", 302),
])
def test_public_pages_and_errors_carry_the_headers_and_are_not_stored(client, path, status):
    resp = client.get(path)
    assert resp.status_code == status
    assert_common_headers(resp)
    assert resp.headers["Cache-Control"] == "no-store"  # every page holds the session's CSRF token


def test_signed_in_pages_fragments_and_downloads_carry_the_headers(app, client, login, draft):
    with time_machine.travel(WORKING, tick=False):
        login("beijing", "a1")
        assert _upload(client, draft, f.pdf_bytes()).status_code == 303
        with app.app_context():
            att_id = db.session.scalar(sa.select(Attachment.id))
        responses = {
            "dashboard": client.get("/beijing/me/"),
            "detail": client.get(f"/beijing/me/applications/{draft}"),
            "fragment": client.post(f"/beijing/me/applications/{draft}/entries/papers",
                                    data={"title": "轴承", "journal": "学报", "year": "2024"},
                                    headers={"HX-Request": "true"}),
            "download": client.get(f"/beijing/me/applications/{draft}/attachments/{att_id}"),
            "forbidden": client.get("/beijing/office/"),
        }
    for name, resp in responses.items():
        assert resp.status_code in (200, 403, 404), name
        assert_common_headers(resp)
        assert resp.headers["Cache-Control"] == "no-store", name
        assert "Expires" not in resp.headers, name
    assert "<tr" in responses["fragment"].get_data(as_text=True) or \
        "轴承" in responses["fragment"].get_data(as_text=True)


def test_hsts_only_over_tls(client):
    plain = client.get("/beijing/")
    tls = client.get("/beijing/", base_url="https://portal.example")
    assert "Strict-Transport-Security" not in plain.headers
    assert tls.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_form_action_allows_the_payment_gateway_only_when_one_is_configured(tmp_path):
    from .conftest import build_app
    plain = build_app(f"sqlite:///{tmp_path / 'a.db'}", tmp_path)
    gateway = build_app(f"sqlite:///{tmp_path / 'b.db'}", tmp_path,
                        PAYMENT_GATEWAY_URL="https://pay.example.cn/cashier?x=1")
    def form_action(app):
        csp = app.test_client().get("/").headers["Content-Security-Policy"]
        return re.search(r"form-action ([^;]+)", csp).group(1).strip()
    assert form_action(plain) == "'self'"
    assert form_action(gateway) == "'self' https://pay.example.cn"


def test_static_files_carry_no_cookie_and_keep_their_long_cache(app, client, login, draft):
    login("beijing", "a1")
    page = client.get("/beijing/me/").get_data(as_text=True)
    css_url = re.search(r'href="([^"]*app\.css[^"]*)"', page).group(1).replace("&amp;", "&")
    css = client.get(css_url)
    assert css.status_code == 200
    assert "Set-Cookie" not in css.headers          # a signed-in user's cookie is not refreshed
    assert "Cookie" not in css.headers.get("Vary", "")
    assert css.headers["Cache-Control"].startswith("public, max-age=31536000")
    assert css.headers["X-Content-Type-Options"] == "nosniff"
    # ... while a page still slides the idle expiry (at most once a minute: test_auth.py).
    with time_machine.travel(datetime.now() + timedelta(minutes=2)):
        assert "Set-Cookie" in client.get("/beijing/me/").headers


def test_templates_have_no_inline_script_style_or_handlers():
    """What the CSP would block: a <script> with a body, a <style> or style= attribute, an on…=
    handler, a javascript: URL. Templates rendered into PDFs (not served as pages) may style."""
    pdf_only = {"defense/notice.html", "paper/form.html", "certify/_pdf_style.html",
                "office/pdf_report.html", "certify/pdf_certificate.html", "certify/pdf_letter.html"}
    found = []
    for path in (ROOT / "templates").rglob("*.html"):
        if path.relative_to(ROOT / "templates").as_posix() in pdf_only:
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"<style", r"\sstyle=",
                        r"\son[a-z]+=", r"javascript:", r"hx-on"):
            found += [f"{path.name}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert found == []


def test_htmx_does_not_inject_its_indicator_style(client):
    """htmx 2 adds a <style> for its indicators unless told not to; the CSP would refuse it."""
    html = client.get("/beijing/").get_data(as_text=True)
    assert '"includeIndicatorStyles":false' in html
    assert ".htmx-indicator" in (ROOT / "static" / "app.css").read_text()


# -- downloads -----------------------------------------------------------------------------------

def test_scans_download_as_attachments_with_their_type_and_chinese_name(app, client, login,
                                                                        draft):
    with time_machine.travel(WORKING, tick=False):
        login("beijing", "a1")
        _upload(client, draft, f.png_bytes(), name="身份证.png")
        with app.app_context():
            att_id = db.session.scalar(sa.select(Attachment.id))
        resp = client.get(f"/beijing/me/applications/{draft}/attachments/{att_id}")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E8%BA%AB%E4%BB%BD%E8%AF%81.png" in disposition  # RFC 5987
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_offices_download_scans_as_attachments(app, client, login):
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        f.make_user("beijing", "clerk", "employer_clerk", "emp")
        user = f.make_user("beijing", "a1", "applicant", "emp")
        row = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering",
                                 "intermediate", "mechanical")
        att = row.attachments[0]
        stored = Path(app.config["UPLOAD_DIR"]) / "beijing" / att.stored_name
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_bytes(f.pdf_bytes())
        from app.workflow.transitions import transition
        from app.tenancy import tenants
        with time_machine.travel(WORKING, tick=False):
            transition(tenants()["beijing"], row, "submit", f.actor(user), pledge=f.PLEDGE)
        ids = row.id, att.id
    login("beijing", "clerk")
    resp = client.get("/beijing/office/applications/%d/attachments/%d" % ids)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.headers["Cache-Control"] == "no-store"
    assert_common_headers(resp)


# -- control characters in submitted text --------------------------------------------------------

BAD = ["张\x00三", "a\x1b[31mred", "del\x7f", "c1\x85", "bell\x07"]


@pytest.mark.parametrize("value", BAD)
def test_control_characters_in_a_wtforms_form_are_refused_with_a_message(app, client, value):
    data = {"name": value, "uscc": "91110000600037341L", "district": "xicheng",
            "employer_kind": "non_public", "clerk_name": "钱七", "clerk_mobile": "13700000001",
            "password": "long-enough-pw"}
    resp = client.post("/beijing/employers/register", data=data)
    assert resp.status_code == 422
    assert "控制字符" in resp.get_data(as_text=True)
    assert_common_headers(resp)
    with app.app_context():
        assert db.session.scalar(sa.select(Org).filter_by(uscc=data["uscc"])) is None


def test_control_characters_in_a_plain_form_view_are_refused_and_nothing_is_saved(
        app, client, login, draft):
    with time_machine.travel(WORKING, tick=False):
        login("beijing", "a1")
        url = f"/beijing/me/applications/{draft}/entries/papers"
        plain = client.post(url, data={"title": "轴承\x00", "journal": "学报", "year": "2024"})
        fragment = client.post(url, data={"title": "轴承", "journal": "学\x1b报", "year": "2024"},
                               headers={"HX-Request": "true"})
        kept = client.post(url, data={"title": "多行\r\n\t标题", "journal": "学报", "year": "2024"})
    assert plain.status_code == 422 and "控制字符" in plain.get_data(as_text=True)
    # htmx shows the message before the form instead of replacing what was typed.
    assert fragment.status_code == 422 and fragment.headers["HX-Reswap"] == "beforebegin"
    assert "控制字符" in fragment.get_data(as_text=True)
    assert kept.status_code == 303  # tab, CR and LF are text, not controls
    with app.app_context():
        titles = [e.data.get("title") for e in db.session.get(Application, draft).entries]
    assert len(titles) == 1 and "\x00" not in titles[0]


def test_control_characters_in_an_uploaded_file_name_are_refused(app, client, login, draft):
    with time_machine.travel(WORKING, tick=False):
        login("beijing", "a1")
        resp = _upload(client, draft, f.pdf_bytes(), name="scan\x00.pdf")
    assert resp.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0


def test_control_characters_in_a_query_are_refused(client):
    resp = client.get("/beijing/certificates/verify", query_string={"number": "BJ\x00"})
    assert resp.status_code == 422 and "控制字符" in resp.get_data(as_text=True)


def test_an_objection_with_a_nul_or_an_over_long_name_gets_a_message_not_a_500(app, client,
                                                                                login):
    """The public objection form: PostgreSQL refuses NUL in text and over-long strings in its
    60-character columns; both are answered with a message, and nothing is saved."""
    from app.models.results import Objection, Publication
    from .test_results import EVIDENCE, _closed_and_accepted

    ids = _closed_and_accepted(app)
    with time_machine.travel(at(2026, 11, 23, 10), tick=False):
        login("beijing", "ag")
        client.post(f"/beijing/results/sessions/{ids['session']}/report", data={"report": "报告"})
        client.post("/beijing/logout")
        login("beijing", ids["hr"])
        with app.app_context():
            pub_id = db.session.scalar(sa.select(Publication.id))
        client.post(f"/beijing/results/publications/{pub_id}/accept", data={"opinion": "通过"})
    with time_machine.travel(at(2026, 11, 25, 10), tick=False):
        anon = app.test_client()
        url = f"/beijing/results/notices/{pub_id}/objections/{ids['passed']}"
        nul = anon.post(url, data={**EVIDENCE, "facts": "代写\x00"})
        long = anon.post(url, data={**EVIDENCE, "complainant": "王" * 61})
    assert nul.status_code == 422 and "控制字符" in nul.get_data(as_text=True)
    assert long.status_code < 500 and "姓名过长（最多60字）" in long.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Objection.id))) == 0


def test_every_get_endpoint_without_ids_carries_the_headers_anonymously(app, client):
    """Each GET route of the URL map that needs no object id, in a tenant: whatever it answers
    (a page, a redirect to sign in, a refusal), the headers are there."""
    seen = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        if not set(rule.arguments) <= {"tenant"}:
            continue
        path = rule.build({"tenant": "beijing"} if "tenant" in rule.arguments else {})[1]
        resp = client.get(path)
        assert resp.status_code < 500, path
        assert_common_headers(resp)
        if rule.endpoint != "favicon":
            assert resp.headers["Cache-Control"] == "no-store", path
        seen += 1
    assert seen > 30


@pytest.mark.parametrize("username,role,org,path", [
    ("clerk", "employer_clerk", "emp", "/beijing/office/"),
    ("ag", "agency_clerk", "bj-agency-eng", "/beijing/agency/"),
    ("hr", "hr_officer", "bj-hr-haidian", "/beijing/admin/employers"),
    ("adm", "tenant_admin", None, "/beijing/admin/jobs"),
    ("ag2", "agency_clerk", "bj-agency-eng", "/beijing/pay/agency"),
    ("hr2", "hr_officer", "bj-hr", "/beijing/results/acceptance"),
    ("a9", "applicant", "emp", "/beijing/certificates/mine"),
    ("a8", "applicant", "emp", "/beijing/results/mine"),
])
def test_signed_in_pages_of_each_office_are_not_stored(app, client, login, username, role, org,
                                                       path):
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        f.make_user("beijing", username, role, org)
    login("beijing", username)
    resp = client.get(path)
    assert resp.status_code == 200, path
    assert_common_headers(resp)
    assert resp.headers["Cache-Control"] == "no-store"
