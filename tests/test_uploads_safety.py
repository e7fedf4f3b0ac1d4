"""Uploaded scans and written spreadsheets (issue 11 §4; DESIGN §7 Trust): a PDF is stored
rebuilt without active content and without what followed its end (a PDF+ZIP polyglot comes out a
plain PDF); an image over the pixel limit is refused from its header, before its pixels are
decoded; a roster writes a name that looks like a formula as text."""
import io
import struct
import time
import tracemalloc
import zipfile
import zlib

import pytest
import sqlalchemy as sa
import time_machine
from openpyxl import load_workbook
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from app import uploads
from app.extensions import db
from app.models import Attachment
from app.workflow.errors import Invalid

from . import factories as f
from .conftest import at

WORKING = at(2026, 7, 10, 10)
ALERT = "app.alert('owned')"


def js_pdf() -> bytes:
    """A one-page PDF that runs JavaScript on open (/OpenAction), from the document's /Names
    tree, and when its page is opened (/AA), with an embedded file beside it."""
    w = PdfWriter()
    page = w.add_blank_page(width=595, height=842)
    w.add_attachment("payload.exe", b"MZ not really")  # /Names /EmbeddedFiles
    action = w._add_object(DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                                             NameObject("/JS"): TextStringObject(ALERT)}))
    names = w._root_object["/Names"].get_object()
    names[NameObject("/JavaScript")] = DictionaryObject(
        {NameObject("/Names"): ArrayObject([TextStringObject("run"), action])})
    w._root_object[NameObject("/OpenAction")] = action
    page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): action})
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def polyglot() -> bytes:
    """A valid PDF with a ZIP archive appended after %%EOF: both readers accept it."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("evil.html", "<script>alert(1)</script>")
    return f.pdf_bytes() + archive.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header declares width × height, followed by a tiny (wrong) image: a file of
    a few dozen bytes that would take width × height × 3 bytes once decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


def _active_names(data: bytes) -> set[str]:
    reader = PdfReader(io.BytesIO(data))
    root = reader.trailer["/Root"]
    found = {k for k in ("/OpenAction", "/Names", "/AcroForm", "/AA") if k in root}
    for page in reader.pages:
        found |= {k for k in ("/AA", "/Annots") if k in page}
    return found


def test_a_pdf_with_javascript_is_rebuilt_without_it(ctx):
    original = js_pdf()
    assert _active_names(original) >= {"/OpenAction", "/Names", "/AA"}
    clean, mime = uploads.accept_scan(original)
    assert mime == "application/pdf"
    assert _active_names(clean) == set()
    assert ALERT.encode() not in clean and b"/JavaScript" not in clean
    assert b"payload.exe" not in clean and b"/EmbeddedFile" not in clean
    assert len(PdfReader(io.BytesIO(clean)).pages) == 1  # what it shows is kept


def test_a_pdf_zip_polyglot_comes_out_a_plain_pdf(ctx):
    original = polyglot()
    assert zipfile.is_zipfile(io.BytesIO(original))
    assert len(PdfReader(io.BytesIO(original)).pages) == 1
    clean, _mime = uploads.accept_scan(original)
    assert not zipfile.is_zipfile(io.BytesIO(clean))
    assert b"evil.html" not in clean
    assert clean.rstrip().endswith(b"%%EOF")
    assert len(PdfReader(io.BytesIO(clean)).pages) == 1


def test_an_uploaded_pdf_is_stored_rebuilt(app, client, login):
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        user = f.make_user("beijing", "a1", "applicant", "emp")
        app_id = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering",
                                    "intermediate", "mechanical", complete=False).id
    with time_machine.travel(WORKING, tick=False):
        login("beijing", "a1")
        client.post(f"/beijing/me/applications/{app_id}/attachments",
                    data={"material": "id_card", "scan": (io.BytesIO(polyglot()), "s.pdf")},
                    content_type="multipart/form-data")
        with app.app_context():
            att = db.session.scalar(sa.select(Attachment))
            stored = uploads.read_stored("beijing", att.stored_name)
            assert att.size == len(stored)
        served = client.get(f"/beijing/me/applications/{app_id}/attachments/{att.id}")
    assert not zipfile.is_zipfile(io.BytesIO(stored))
    assert served.data == stored
    assert served.headers["Content-Disposition"].startswith("attachment;")
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_session_minutes_are_rebuilt_like_scans_and_recordings_are_kept_as_sent(ctx):
    limit = ctx.config["MAX_RECORDING_BYTES"]
    name, mime, size, _digest = uploads.store_stream("beijing", io.BytesIO(polyglot()),
                                                     uploads.MINUTES_TYPES, limit)
    stored = uploads.read_stored("beijing", name)
    assert mime == "application/pdf" and size == len(stored)
    assert not zipfile.is_zipfile(io.BytesIO(stored))
    mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 2048
    name, mime, _size, _digest = uploads.store_stream("beijing", io.BytesIO(mp4),
                                                      uploads.RECORDING_TYPES, limit)
    assert mime == "video/mp4" and uploads.read_stored("beijing", name) == mp4


def test_an_image_over_the_pixel_limit_is_refused_from_its_header(ctx):
    """50 000 × 50 000 pixels (2.5 Gpx, 7.5 GB decoded) in a few dozen bytes: refused at once,
    without Pillow allocating the image."""
    bomb = png_header(50_000, 50_000)
    assert len(bomb) < 100
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(Invalid) as refused:
        uploads.accept_scan(bomb)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "像素" in str(refused.value.message)
    assert elapsed < 1 and peak < 5 * 1024 * 1024


def test_the_pixel_limit_is_a_setting(ctx):
    just_over = png_header(8000, 5001)  # 40.008 Mpx
    ctx.config["MAX_IMAGE_PIXELS"] = 40_000_000
    with pytest.raises(Invalid) as refused:
        uploads.check_scan(just_over)
    assert "40百万像素" in str(refused.value.message)
    ctx.config["MAX_IMAGE_PIXELS"] = 50_000_000
    assert uploads.check_scan(just_over) == "image/png"


# -- spreadsheets ------------------------------------------------------------------------------

FORMULA_NAME = '=HYPERLINK("http://x","y")'


def test_a_roster_writes_formula_like_text_as_text(ctx):
    """A real roster: an applicant named like a formula and opinions starting with +, -, @ and a
    tab stay strings (data type 's'); numbers stay numbers."""
    from app.workflow.reports import generate, read as read_report
    from app.workflow.transitions import transition
    from .test_chifeng_routing import T, applicant, cfg, clerk
    from .test_tier_reports import PLAN, _to_county_hr

    f.make_employer(T, "cf-firm", "aohan", kind="non_public", name="@敖汉公司")
    hr = f.make_user(T, "hr-he", "hr_officer", "cf-hr-aohan", name="-何平")
    clerk("cf-hr-songshan")
    a = f.make_application(T, applicant("cf-x", "cf-firm", name=FORMULA_NAME), PLAN,
                           "nm-eng-senior", "engineering", "associate_senior", "mechanical",
                           exam_passed=True)
    _to_county_hr(a)
    with time_machine.travel(at(2026, 7, 2, 10), tick=False):
        transition(cfg(), a, "recommend", f.actor(hr), opinion="+1+1\t同意",
                   no_objection=True)
        made = generate(cfg(), T, a.tenant_id, f.org(T, "cf-hr-aohan").id, f.plan(T, PLAN).id)
    db.session.commit()
    roster = next(r for r in made if r.kind == "roster")
    ws = load_workbook(io.BytesIO(read_report(T, roster.stored_name))).active
    cells = {c.value: c for row in ws.iter_rows() for c in row if c.value is not None}
    assert FORMULA_NAME in cells, list(cells)
    for text in (FORMULA_NAME, "+1+1\t同意", "-何平"):
        assert cells[text].data_type == "s" and cells[text].quotePrefix, text
    number = next(c for c in cells.values() if c.value == 1)
    assert number.data_type == "n"
