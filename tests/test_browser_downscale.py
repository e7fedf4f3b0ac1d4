"""A phone photo is scaled down in the browser before it is sent (issue 16 §1, §5), in a real
headless Chromium: an applicant picks a portrait photo of a page as phones store it (4000 × 3000
pixels turned by EXIF, several MB) in the attachments form; static/js/downscale.js shows a
preview and the sizes, holds the form while it works, and what the server receives and stores
is the small, upright copy. With JavaScript off the same photo goes out whole and the server
scales it down to the same copy."""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import expect

from app import uploads
from app.extensions import db
from app.models import Attachment
from bench.photo_bench import paper_photo

from .conftest import at
from .test_browser import (  # noqa: F401  (browser is a fixture)
    BROWSER, _context, _login, browser, live_draft, serving,
)

time_machine = pytest.importorskip("time_machine", reason="time-machine is not installed")
pytestmark = BROWSER


class BodySizes:
    """WSGI middleware: the body size of every upload the server receives — a plain form's
    post, or all the PATCH requests of one resumable upload added up."""

    def __init__(self, wsgi_app):
        self.wsgi_app, self.sizes, self.resumable = wsgi_app, [], {}

    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        size = int(environ.get("CONTENT_LENGTH") or 0)
        if method == "POST" and path.endswith("/attachments"):
            self.sizes.append(size)
        elif method == "PATCH" and "/uploads/" in path:
            if path not in self.resumable:
                self.resumable[path] = len(self.sizes)
                self.sizes.append(0)
            self.sizes[self.resumable[path]] += size
        return self.wsgi_app(environ, start_response)


@pytest.fixture
def live(tmp_path):
    """A live server with one applicant and a draft application; yields (base URL, the app,
    the application's id, the upload body sizes)."""
    app, app_id = live_draft(tmp_path)
    bodies = BodySizes(app.wsgi_app)
    app.wsgi_app = bodies
    with serving(app) as base:
        yield base, app, app_id, bodies.sizes


# Every time the form's data-busy comes or goes: whether the upload button was disabled then.
WATCH_BUSY = """form => {
  window.__busy = [];
  new MutationObserver(() => window.__busy.push([form.hasAttribute('data-busy'),
                                                 form.querySelector('button').disabled]))
    .observe(form, {attributes: true, attributeFilter: ['data-busy']});
}"""


def test_a_phone_photo_is_downscaled_before_it_is_sent(live, browser, tmp_path):
    base, app, app_id, sizes = live
    photo = tmp_path / "IMG_2041.jpeg"
    photo.write_bytes(paper_photo(4000, 3000, noise=0.15, orientation=6))
    original = photo.stat().st_size
    assert original > 4 * 1024 * 1024

    page = _context(browser, True).new_page()
    with time_machine.travel(at(2026, 7, 8, 10, 0), tick=True):
        _login(page, base, "a1")
        page.goto(f"{base}/beijing/me/applications/{app_id}")
        page.wait_for_load_state("load")
        form = page.locator("section#attachments form[enctype='multipart/form-data']")
        scan = form.locator("input[name=scan]")
        expect(scan).to_have_attribute("data-max-side", "2000")
        form.evaluate(WATCH_BUSY)
        form.locator("select[name=material]").select_option("id_card")
        scan.set_input_files(str(photo))

        note = page.locator("section#attachments .downscale small[role=status]")
        expect(note).to_have_text(re.compile(
            rf"^已压缩：原 {original / 1024 / 1024:.1f} MB → \d+ KB$"), timeout=30_000)
        expect(page.locator("section#attachments .downscale img")).to_be_visible()
        assert page.locator("section#attachments .downscale img").get_attribute(
            "src").startswith("data:image/jpeg;base64,")
        expect(form).not_to_have_attribute("data-busy", "")
        expect(form.locator("button", has_text="上传")).to_be_enabled()
        assert page.evaluate("window.__busy") == [[True, True], [False, False]], \
            "压缩期间表单应带 data-busy 且上传按钮不可用，完成后恢复"
        chosen = scan.evaluate("i => [i.files.length, i.files[0].name, i.files[0].size]")
        assert chosen[:2] == [1, "IMG_2041.jpg"] and chosen[2] < 1024 * 1024

        form.locator("button", has_text="上传").click()
        expect(page.locator("section#attachments table")).to_contain_text("IMG_2041.jpg")
        expect(page.locator("section#attachments .flash.error")).to_have_count(0)

    assert len(sizes) == 1 and sizes[0] < 1024 * 1024, \
        f"发送的请求应只有几百KB（原图{original}字节），实为{sizes}"
    with app.app_context():
        att = db.session.scalar(sa.select(Attachment).filter_by(application_id=app_id))
        stored = uploads.read_stored("beijing", att.stored_name)
    img = Image.open(io.BytesIO(stored))
    # Upright (the EXIF turn applied in the browser) at 2000 px: the server had nothing left
    # to scale, so it stored the browser's file as it came (its size is the file the form held).
    assert img.size == (1500, 2000), f"存储的图片应为竖向1500×2000，实为{img.size}"
    assert att.filename == "IMG_2041.jpg" and att.mime == "image/jpeg"
    assert att.size == len(stored) == chosen[2] <= sizes[0]


def test_without_javascript_the_original_is_sent_and_the_server_scales_it(live, browser,
                                                                           tmp_path):
    base, app, app_id, sizes = live
    photo = tmp_path / "IMG_2042.jpg"
    photo.write_bytes(paper_photo(4000, 3000, noise=0.15, orientation=6))
    page = _context(browser, False).new_page()
    with time_machine.travel(at(2026, 7, 8, 10, 0), tick=True):
        _login(page, base, "a1")
        page.goto(f"{base}/beijing/me/applications/{app_id}")
        form = page.locator("section#attachments form[enctype='multipart/form-data']")
        form.locator("select[name=material]").select_option("id_card")
        form.locator("input[name=scan]").set_input_files(str(photo))
        form.locator("button", has_text="上传").click()
        expect(page.locator("section#attachments table")).to_contain_text("IMG_2042.jpg")
        expect(page.locator(".downscale")).to_have_count(0)
    assert len(sizes) == 1 and sizes[0] > photo.stat().st_size, "无JavaScript时应发送原文件"
    with app.app_context():
        att = db.session.scalar(sa.select(Attachment).filter_by(application_id=app_id))
        stored = uploads.read_stored("beijing", att.stored_name)
    assert Image.open(io.BytesIO(stored)).size == (1500, 2000), "服务器应按EXIF方向旋转并缩小"
    assert att.size == len(stored) < 1024 * 1024
