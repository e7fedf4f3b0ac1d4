"""Page weight: the largest first visit (the HTML page and its stylesheets, compressed as the app
sends them) over every page each demo account reaches, with gzip and with brotli.

    .venv/bin/python bench/page_weight.py [--depth 3] [--top 10]

The demo of both tenants is loaded into a throwaway SQLite database (as `make run` loads it);
each demo account signs in through the form and follows, breadth first, the links of its tenant
from its home page, GET only, `--depth` clicks deep; an anonymous visitor does the same from the
tenant's start page. Every HTML page is fetched twice (Accept-Encoding gzip, then br); its weight
is the compressed page plus the compressed stylesheets it links (a first visit has none cached).
Scripts are not counted: every page works without them (they load deferred, after the page).
Figures go to bench/results.json (bench/results.py): page_weight_max_gzip_bytes,
page_weight_max_br_bytes, page_weight_pages. The budget is 14 KB (14,336 bytes: what the first
round trips of a new connection carry); pages over it are listed. Every secret is a throwaway."""
from __future__ import annotations

import argparse
import base64
import html
import re
import secrets
import sys
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.demo import load_demo  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Tenant  # noqa: E402
from app.tenancy import tenants  # noqa: E402
from app.workflow.calendar import today_local  # noqa: E402
from app.workflow.crypto import new_key  # noqa: E402
from bench.close_bench import fresh_schema  # noqa: E402
from bench.results import figure, record, show  # noqa: E402

BUDGET = 14 * 1024
ENCODINGS = ("gzip", "br")
HREF = re.compile(r'<a\b[^>]*\bhref="([^"#]*)"')
STYLESHEET = re.compile(r'<link\b[^>]*rel="stylesheet"[^>]*href="([^"]+)"'
                        r'|<link\b[^>]*href="([^"]+)"[^>]*rel="stylesheet"')
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# Links that change the visitor's state rather than show a page: the language switch (kept in
# the session), sign-out (a POST anyway).
SKIP = re.compile(r"[?&]lang=|/logout\b")


@dataclass(frozen=True)
class Page:
    account: str  # username, or "anonymous"
    role: str
    url: str
    gzip: int     # page + stylesheets, bytes on the wire
    br: int


def settings(url: str, tmp: str) -> dict:
    """Production settings (CSRF on) with throwaway secrets, limiter counts in memory."""
    return {"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_STORAGE_URI": "memory://",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "PAYMENT_GATEWAY_SECRET": secrets.token_urlsafe(32),
            "DATA_KEYS": f"b1:{new_key()}", "DATA_HASH_KEY": new_key(),
            "AUDIT_KEY": secrets.token_urlsafe(32),
            "AUDIT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "PUBLIC_BASE_URL": "http://127.0.0.1:5000", "JOBS_INLINE": True,
            "UPLOAD_DIR": str(Path(tmp) / "uploads"), "REDIS_URL": "redis://127.0.0.1:1/0"}


def load(app) -> dict[str, list[tuple[str, str, str]]]:
    """The demo of every tenant; its accounts by tenant: (username, role, password)."""
    accounts = {}
    with app.app_context():
        for slug, cfg in tenants().items():
            tenant_id = db.session.scalar(sa.select(Tenant.id).filter_by(slug=slug))
            made = load_demo(cfg, tenant_id, today_local())
            if cfg.demo is not None:
                accounts[slug] = [(u, role, cfg.demo.password) for u, role, _ in made]
        db.session.remove()
    return accounts


class Visitor:
    """One browser: a test client, its stylesheet sizes (fetched once per encoding)."""

    def __init__(self, app) -> None:
        self.client = app.test_client()
        self.css: dict[tuple[str, str], int] = {}

    def sign_in(self, slug: str, username: str, password: str) -> str:
        page = self.client.get(f"/{slug}/login").get_data(as_text=True)
        token = html.unescape(CSRF.search(page).group(1))
        resp = self.client.post(f"/{slug}/login", data={
            "csrf_token": token, "username": username, "password": password})
        if resp.status_code != 303:
            raise SystemExit(f"{slug}/{username}: sign-in failed ({resp.status_code})")
        return urlsplit(resp.location).path

    def stylesheet(self, url: str, encoding: str) -> int:
        if (url, encoding) not in self.css:
            resp = self.client.get(url, headers={"Accept-Encoding": encoding})
            if resp.status_code != 200:
                raise SystemExit(f"{url}: {resp.status_code}")
            self.css[url, encoding] = len(resp.data)
        return self.css[url, encoding]

    def weigh(self, url: str) -> tuple[dict[str, int], str] | None:
        """Compressed weights by encoding and the page's text; None for anything not a page."""
        weights, text = {}, ""
        for encoding in ENCODINGS:
            resp = self.client.get(url, headers={"Accept-Encoding": encoding})
            if resp.status_code != 200 or resp.mimetype != "text/html":
                return None
            if text == "":
                text = _decoded(resp)
            sheets = [html.unescape(a or b) for a, b in STYLESHEET.findall(text)]
            weights[encoding] = len(resp.data) + sum(self.stylesheet(s, encoding)
                                                     for s in sheets)
        return weights, text


def _decoded(resp) -> str:
    import gzip
    import brotli
    data = resp.data
    encoding = resp.headers.get("Content-Encoding")
    if encoding == "gzip":
        data = gzip.decompress(data)
    elif encoding == "br":
        data = brotli.decompress(data)
    return data.decode()


def crawl(visitor: Visitor, slug: str, start: str, depth: int, account: str,
          role: str) -> list[Page]:
    """Breadth first from `start`, links inside /<slug>/ only, each path once."""
    seen, pages = {start}, []
    queue = deque([(start, 0)])
    while queue:
        url, level = queue.popleft()
        weighed = visitor.weigh(url)
        if weighed is None:
            continue
        weights, text = weighed
        pages.append(Page(account, role, url, weights["gzip"], weights["br"]))
        if level == depth:
            continue
        for href in HREF.findall(text):
            href = html.unescape(href)
            if SKIP.search(href):
                continue
            path = urlsplit(href).path  # filters and pages of a list: the same page's weight
            if path.startswith(f"/{slug}/") and path not in seen:
                seen.add(path)
                queue.append((path, level + 1))
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=3, help="clicks from the home page")
    parser.add_argument("--top", type=int, default=10, help="largest pages to print")
    args = parser.parse_args()
    pages: list[Page] = []
    with tempfile.TemporaryDirectory() as tmp:
        app = fresh_schema(create_app(settings(f"sqlite:///{tmp}/weight.db", tmp)))
        accounts = load(app)
        for slug, people in accounts.items():
            anonymous = Visitor(app)
            pages += crawl(anonymous, slug, f"/{slug}/", args.depth, "anonymous", "anonymous")
            for username, role, password in people:
                visitor = Visitor(app)
                home = visitor.sign_in(slug, username, password)
                found = crawl(visitor, slug, home, args.depth, username, role)
                pages += found
                print(f"{slug:<9} {role:<18} {username:<22} {len(found):>4} pages, largest "
                      f"{max(p.gzip for p in found):>6} B gzip", flush=True)
        with app.app_context():
            db.engine.dispose()
    if not pages:
        raise SystemExit("no page crawled")
    biggest = sorted(pages, key=lambda p: p.gzip, reverse=True)
    print(f"\nlargest first visits (HTML + CSS), of {len(pages)} pages:")
    print(f"  {'gzip':>6} {'br':>6}  {'role':<18} {'account':<22} page")
    for p in biggest[:args.top]:
        print(f"  {p.gzip:>6} {p.br:>6}  {p.role:<18} {p.account:<22} {p.url}")
    out = {"page_weight_max_gzip_bytes": figure(biggest[0].gzip, "bytes"),
           "page_weight_max_br_bytes": figure(max(p.br for p in pages), "bytes"),
           "page_weight_pages": figure(len(pages), "pages")}
    print()
    show(out)
    over = [p for p in biggest if p.gzip > BUDGET]
    if over:
        print(f"\n{len(over)} pages over the {BUDGET}-byte budget (gzip):")
        for p in over:
            print(f"  {p.gzip:>6}  {p.role:<18} {p.account:<22} {p.url}")
    else:
        print(f"\nevery page meets the budget (gzip <= {BUDGET} bytes)")
    path = record(out)
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
