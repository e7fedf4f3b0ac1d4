"""Static files and caching (issue 16 §4): the CSS and htmx go out compressed to a client that
takes gzip only as well as to one that takes brotli, with their year-long cache, an ETag per
encoding and no cookie, even for a signed-in user; every page a signed-in user of any role opens
is `no-store`."""
from __future__ import annotations

import brotli
import gzip
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from .conftest import PASSWORD
from .world import ROLES, world_app

ROOT = Path(__file__).resolve().parent.parent
SLUGS = ("beijing", "chifeng")
NAV = re.compile(r"<nav>(.*?)</nav>", re.S)
LINK = re.compile(r'href="([^"?#]+)')


def _static_urls(page: str) -> dict[str, str]:
    """The page's versioned CSS and htmx URLs, by file name."""
    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    return {u.split("?")[0].rsplit("/", 1)[1]: u.replace("&amp;", "&") for u in urls}


@pytest.fixture
def static(client):
    urls = _static_urls(client.get("/beijing/login").get_data(as_text=True))
    if "htmx.min.js" not in urls:
        pytest.fail("no htmx on the page: copy static/vendor (make install fetches it)")
    return urls


@pytest.mark.parametrize("name", ["app.css", "htmx.min.js"])
def test_gzip_only_clients_get_static_files_gzipped(client, static, name):
    whole = (ROOT / "static" / ("vendor/" if name.startswith("htmx") else "") / name).read_bytes()
    resp = client.get(static[name], headers={"Accept-Encoding": "gzip"})
    assert resp.status_code == 200
    assert resp.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(resp.data) == whole
    assert int(resp.headers["Content-Length"]) == len(resp.data) < len(whole) // 2
    assert "Accept-Encoding" in resp.headers["Vary"]
    assert resp.headers["Cache-Control"].startswith("public, max-age=31536000")


@pytest.mark.parametrize("name", ["app.css", "htmx.min.js"])
def test_brotli_clients_get_brotli_and_others_the_file_as_it_is(client, static, name):
    whole = (ROOT / "static" / ("vendor/" if name.startswith("htmx") else "") / name).read_bytes()
    br = client.get(static[name], headers={"Accept-Encoding": "gzip, deflate, br"})
    assert br.headers["Content-Encoding"] == "br"
    assert brotli.decompress(br.data) == whole
    gz = client.get(static[name], headers={"Accept-Encoding": "gzip"})
    assert len(br.data) < len(gz.data)
    # A client that prefers gzip by its q-values gets gzip.
    assert client.get(static[name], headers={"Accept-Encoding": "br;q=0.5, gzip"}) \
        .headers["Content-Encoding"] == "gzip"
    for plain in ({"Accept-Encoding": "identity"}, {"Accept-Encoding": ""}):
        resp = client.get(static[name], headers=plain)
        assert "Content-Encoding" not in resp.headers
        assert resp.data == whole


def test_each_encoding_has_its_own_etag_and_revalidates(client, static):
    url = static["app.css"]
    gz = client.get(url, headers={"Accept-Encoding": "gzip"})
    br = client.get(url, headers={"Accept-Encoding": "br"})
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    etags = {gz.headers["ETag"], br.headers["ETag"], plain.headers["ETag"]}
    assert len(etags) == 3
    again = client.get(url, headers={"Accept-Encoding": "gzip",
                                     "If-None-Match": gz.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    other = client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": gz.headers["ETag"]})
    assert other.status_code == 200 and other.headers["Content-Encoding"] == "br"


def test_missing_or_outside_files_are_404(client):
    for url in ("/static/no-such.css", "/static/../app/config.py", "/static/%2e%2e/wsgi.py"):
        resp = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert resp.status_code == 404, url
        assert b"SECRET_KEY" not in (gzip.decompress(resp.data)
                                     if resp.headers.get("Content-Encoding") == "gzip"
                                     else resp.data), url


@pytest.fixture(scope="module")
def world(database_url, tmp_path_factory):
    with world_app(database_url, tmp_path_factory, "caching") as (app, sides):
        yield app, sides


def _signed_in(app, slug, username):
    c = app.test_client()
    r = c.post(f"/{slug}/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 303, r.get_data(as_text=True)[:300]
    return c


@pytest.mark.parametrize("slug", SLUGS)
def test_signed_in_pages_are_not_stored_and_static_files_carry_no_cookie(world, slug):
    """Each role's home and every page its navigation offers: no-store; the static files that
    page loads, fetched with the session cookie: no cookie set or refreshed, cacheable."""
    app, sides = world
    for role in ROLES[1:]:
        c = _signed_in(app, slug, sides[slug].own[role])
        home = c.get(f"/{slug}/home", headers={"Accept-Encoding": "gzip"})
        assert home.status_code == 200, role
        page = gzip.decompress(home.data).decode()
        links = [u for u in LINK.findall(NAV.search(page).group(1)) if u.startswith(f"/{slug}/")]
        assert links, role
        for url in [f"/{slug}/home", *links]:
            resp = c.get(url)
            assert resp.status_code == 200, (role, url)
            assert resp.headers["Cache-Control"] == "no-store", (role, url)
            assert "Expires" not in resp.headers, (role, url)
        with time_machine.travel(datetime.now() + timedelta(minutes=2)):
            # pages slide the idle expiry (once a minute: test_auth.py)
            assert "Set-Cookie" in c.get(f"/{slug}/home").headers
        for name, url in _static_urls(page).items():
            resp = c.get(url, headers={"Accept-Encoding": "gzip"})
            assert resp.status_code == 200, (role, name)
            assert resp.headers["Content-Encoding"] == "gzip", (role, name)
            assert "Set-Cookie" not in resp.headers, (role, name)
            assert "Cookie" not in resp.headers.get("Vary", ""), (role, name)
            assert resp.headers["Cache-Control"].startswith("public, max-age=31536000"), name
