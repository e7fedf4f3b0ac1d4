"""A scan uploaded on a bad line, in a real headless Chromium throttled through the DevTools
protocol to the slow profile of issue 16 (400 kbps down, 200 kbps up, 400 ms latency): with
JavaScript the file goes in pieces (static/js/upload.js), the line is cut mid-upload (offline
emulation) and restored, and the upload goes on from the offset the server stored. What is
asserted is the server's own count of the bytes it read: the file's size, none read twice.
Without JavaScript the same task completes through the plain form."""
from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from app.extensions import db
from app.models import Attachment, PartialUpload

from .conftest import at
from .test_browser import (  # noqa: F401  (fixtures)
    BROWSER, _context, _login, browser, live_draft, serving,
)

time_machine = pytest.importorskip("time_machine")
from playwright.sync_api import expect  # noqa: E402

pytestmark = BROWSER

# The scan of the cut-and-resume test: about 0.9 MB (four pieces, half a minute at 200 kbps) by
# default; BROWSER_UPLOAD_KB=10240 runs it with 10 MB, the largest scan (about seven minutes).
UPLOAD_KB = int(os.environ.get("BROWSER_UPLOAD_KB", "900"))
SLOW = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8,
        "uploadThroughput": 200_000 / 8}


def noise_png(side: int) -> bytes:
    """A PNG of random pixels: it does not compress, so its size is about side² × 3 bytes."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def served(tmp_path):
    app, app_id = live_draft(tmp_path)
    with serving(app) as base:
        yield app, base, app_id


def _wait(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _upload_row(app):
    with app.app_context():
        row = db.session.scalar(sa.select(PartialUpload))
        db.session.remove()
        return row


def _attachments(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(Attachment)).all()
        db.session.remove()
        return rows


@pytest.mark.timeout(300 + 3 * UPLOAD_KB // 25)  # 25 KB/s up
def test_a_cut_upload_resumes_from_the_stored_offset(served, browser, tmp_path):
    app, base, app_id = served
    scan = tmp_path / "学历证书.png"
    data = noise_png(int(((UPLOAD_KB - 64) * 1024 / 3) ** 0.5))  # within MAX_UPLOAD_MB
    scan.write_bytes(data)
    seconds = len(data) / SLOW["uploadThroughput"]  # at the slow profile, without the cut
    ctx = _context(browser, js=True)
    page = ctx.new_page()
    with time_machine.travel(at(2026, 7, 8, 10, 0), tick=True):
        _login(page, base, "a1")
        page.goto(f"{base}/beijing/me/applications/{app_id}")
        expect(page.locator("#upload-room")).to_contain_text("剩余上传空间")
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW)
        page.select_option("select[name=material]", "education")
        page.set_input_files("input[name=scan]", str(scan))
        page.click("#attachments form.grid button")
        # Cut the line once the server holds the first piece and part of the next.
        _wait(lambda: (r := _upload_row(app)) and r.received > 300 * 1024, 90, "a piece")
        cdp.send("Network.emulateNetworkConditions", {**SLOW, "offline": True})
        expect(page.locator(".upload-status")).to_contain_text("网络已断开", timeout=20_000)
        cut_at = _upload_row(app).offset
        assert 0 < cut_at < len(data)
        time.sleep(2)
        cdp.send("Network.emulateNetworkConditions", SLOW)
        _wait(lambda: _attachments(app), 2 * seconds + 120, "the attachment")
        expect(page.locator("#attachments table")).to_contain_text("学历证书.png",
                                                                   timeout=30_000)
    row = _upload_row(app)
    # Every byte read once: the server's count of what it read is the file's size.
    assert row.offset == row.length == len(data)
    assert row.received == len(data)
    [att] = _attachments(app)
    assert att.size == len(data) and att.mime == "image/png"
    ctx.close()


def test_after_a_reload_the_same_file_goes_on_where_it_stopped(served, browser, tmp_path):
    """The page is reloaded mid-upload; choosing the same file again sends only the rest (the
    upload is remembered in localStorage and the server says how far it got)."""
    app, base, app_id = served
    scan = tmp_path / "业绩.png"
    data = noise_png(420)  # about 530 KB: three pieces
    scan.write_bytes(data)
    ctx = _context(browser, js=True)
    page = ctx.new_page()
    with time_machine.travel(at(2026, 7, 8, 10, 0), tick=True):
        _login(page, base, "a1")
        page.goto(f"{base}/beijing/me/applications/{app_id}")
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW)

        def choose_and_send():
            page.select_option("select[name=material]", "achievements")
            page.set_input_files("input[name=scan]", str(scan))
            page.click("#attachments form.grid button")

        choose_and_send()
        _wait(lambda: (r := _upload_row(app)) and r.offset >= 256 * 1024, 90, "a piece")
        page.reload()
        stored = _upload_row(app).offset
        choose_and_send()
        _wait(lambda: _attachments(app), 120, "the attachment")
        expect(page.locator("#attachments table")).to_contain_text("业绩.png", timeout=30_000)
    row = _upload_row(app)
    assert 0 < stored < len(data)
    assert row.offset == row.received == len(data)  # nothing before `stored` came again
    ctx.close()


def test_without_javascript_the_plain_form_uploads(served, browser, tmp_path):
    app, base, app_id = served
    scan = tmp_path / "证书.png"
    scan.write_bytes(noise_png(180))  # about 100 KB
    ctx = _context(browser, js=False)
    page = ctx.new_page()
    with time_machine.travel(at(2026, 7, 8, 10, 0), tick=True):
        _login(page, base, "a1")
        page.goto(f"{base}/beijing/me/applications/{app_id}")
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW)
        page.select_option("select[name=material]", "education")
        page.set_input_files("input[name=scan]", str(scan))
        page.click("#attachments form.grid button")
        page.wait_for_load_state()
        expect(page.locator("#attachments table")).to_contain_text("证书.png", timeout=60_000)
    [att] = _attachments(app)
    assert att.size == scan.stat().st_size
    assert _upload_row(app) is None  # the plain form, not the pieces
    ctx.close()


def test_refusals_are_shown_and_leave_nothing(served, browser, tmp_path):
    """A file over the material's limit is refused before any byte is sent; a file that is not
    a scan is refused after its last byte; either way the page says why and nothing stays."""
    app, base, app_id = served
    big = tmp_path / "身份证.png"
    big.write_bytes(noise_png(1400))  # about 5.6 MB: over the ID card's 5 MB
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"MZ\x90\x00 not a scan" * 20_000)
    ctx = _context(browser, js=True)
    page = ctx.new_page()
    with time_machine.travel(at(2026, 7, 8, 10, 0), tick=True):
        _login(page, base, "a1")
        page.goto(f"{base}/beijing/me/applications/{app_id}")
        page.select_option("select[name=material]", "id_card")
        page.set_input_files("input[name=scan]", str(big))
        page.click("#attachments form.grid button")
        expect(page.locator(".upload-status")).to_contain_text("每份不超过5.0 MB")
        assert _upload_row(app) is None
        page.select_option("select[name=material]", "education")
        page.set_input_files("input[name=scan]", str(fake))
        page.click("#attachments form.grid button")
        expect(page.locator(".upload-status")).to_contain_text("只接受PDF", timeout=20_000)
    assert _upload_row(app) is None and _attachments(app) == []
    assert list((Path(app.config["UPLOAD_DIR"])).rglob("*.*")) == []
    ctx.close()
