"""Resumable uploads (issue 16 §1): the tus core protocol with creation and termination over an
applicant's scans. Bytes stream to a partial file and survive a cut; the last byte brings the
checksum, then the content checks, then the attachment through the service the plain form uses;
limits (size and count per material, the applicant's quota) refuse a file before any byte is
sent; abandoned uploads are removed by a job."""
from __future__ import annotations

import base64
import hashlib
import io
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from pypdf import PdfReader

from app.extensions import db
from app.models import Attachment, AuditEvent, PartialUpload
from app.uploads import resumable
from app.uploads.storage import storage

from . import factories as f
from .conftest import at
from .test_uploads_safety import _active_names, js_pdf

WORKING = at(2026, 7, 10, 10)
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {**TUS, "Content-Type": "application/offset+octet-stream"}


@pytest.fixture
def side(app):
    """Two Beijing applicants with a draft each, a Beijing clerk, and a Chifeng applicant."""
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        f.make_employer("chifeng", "cf-emp", "songshan")
        ids = {}
        for name in ("a1", "a2"):
            user = f.make_user("beijing", name, "applicant", "emp")
            ids[name] = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering",
                                           "intermediate", "mechanical", complete=False).id
        f.make_user("beijing", "clerk", "employer_clerk", "emp")
        cf = f.make_user("chifeng", "cf-a", "applicant", "cf-emp")
        ids["cf"] = f.make_application("chifeng", cf, "cf-2026-intermediate", "cf-eng",
                                       "engineering", "intermediate", "mechanical",
                                       complete=False).id
        return ids


@pytest.fixture
def signed(client, login, side):
    with time_machine.travel(WORKING, tick=False):
        login("beijing", "a1")
        yield client, side


def meta(data: bytes, material: str = "education", filename: str = "证书.pdf",
         digest: str | None = None) -> str:
    pairs = {"filename": filename, "material": material,
             "sha256": digest or hashlib.sha256(data).hexdigest()}
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def create(client, app_id: int, data: bytes, **kw):
    return client.post(f"/beijing/me/applications/{app_id}/uploads",
                       headers={**TUS, "Upload-Length": str(kw.pop("length", len(data))),
                                "Upload-Metadata": meta(data, **kw)})


def patch(client, location: str, offset: int, body: bytes):
    return client.patch(location, data=body, headers={**OCTETS, "Upload-Offset": str(offset)})


def scan_pdf(pages: int = 30) -> bytes:
    return f.pdf_bytes(pages)


def _part_files(app) -> list[Path]:
    return sorted((Path(app.config["UPLOAD_DIR"]) / "partial").glob("*"))


def _attachments(app, app_id: int) -> list[Attachment]:
    with app.app_context():
        return db.session.scalars(sa.select(Attachment).filter_by(application_id=app_id)).all()


def _uploads(app) -> list[PartialUpload]:
    with app.app_context():
        return db.session.scalars(sa.select(PartialUpload)).all()


def test_create_head_and_patch_in_pieces_attach_the_scan(app, signed):
    client, ids = signed
    data = scan_pdf()
    r = create(client, ids["a1"], data)
    assert r.status_code == 201 and r.headers["Tus-Resumable"] == "1.0.0"
    location = r.headers["Location"]
    assert location.startswith(f"/beijing/me/applications/{ids['a1']}/uploads/")
    head = client.head(location, headers=TUS)
    assert head.status_code == 200
    assert (head.headers["Upload-Offset"], head.headers["Upload-Length"]) == ("0", str(len(data)))
    assert head.headers["Cache-Control"] == "no-store"
    cuts = [0, 1000, 2500, len(data)]
    for start, end in zip(cuts, cuts[1:]):
        r = patch(client, location, start, data[start:end])
        assert r.status_code == 204 and r.headers["Upload-Offset"] == str(end)
        if end < len(data):
            assert _attachments(app, ids["a1"]) == []
            assert _part_files(app)[0].stat().st_size == end
            with app.app_context():  # not a stored file (backups, restores) until attached
                assert list(storage().keys()) == []
    [att] = _attachments(app, ids["a1"])
    assert (att.material, att.filename, att.mime) == ("education", "证书.pdf", "application/pdf")
    [upload] = _uploads(app)
    assert upload.attachment_id == att.id and upload.received == len(data)
    assert _part_files(app) == []  # the bytes went into the store
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).filter_by(
            subject_type="attachments", subject_id=att.id, action="upload")) == 1
    # A client whose last answer was lost learns from HEAD that it is done.
    assert client.head(location, headers=TUS).headers["Upload-Offset"] == str(len(data))
    assert patch(client, location, len(data), b"").status_code == 409
    assert len(_attachments(app, ids["a1"])) == 1


def test_a_pdf_sent_in_pieces_is_stored_rebuilt_without_active_content(app, signed):
    client, ids = signed
    data = js_pdf()
    location = create(client, ids["a1"], data).headers["Location"]
    assert patch(client, location, 0, data).status_code == 204
    [att] = _attachments(app, ids["a1"])
    with app.app_context():
        from app import uploads
        stored = uploads.read_stored("beijing", att.stored_name)
    assert _active_names(stored) == set() and b"/JavaScript" not in stored
    assert len(PdfReader(io.BytesIO(stored)).pages) == 1
    assert att.size == len(stored) and att.sha256 == hashlib.sha256(stored).hexdigest()


def test_a_wrong_offset_is_409_and_writes_nothing(app, signed):
    client, ids = signed
    data = scan_pdf()
    location = create(client, ids["a1"], data).headers["Location"]
    assert patch(client, location, 0, data[:500]).status_code == 204
    for wrong in (0, 400, 900):
        r = patch(client, location, wrong, data[wrong:wrong + 100])
        assert r.status_code == 409 and r.headers["Upload-Offset"] == "500"
    [upload] = _uploads(app)
    assert (upload.offset, upload.received) == (500, 500)
    assert _part_files(app)[0].read_bytes() == data[:500]


class CutStream(io.BytesIO):
    """A request body whose line is cut after `keep` bytes (the server sees it end early)."""

    def __init__(self, data: bytes, keep: int):
        super().__init__(data)
        self.keep = keep

    def read(self, size=-1):
        left = max(0, self.keep - self.tell())
        return super().read(left if size is None or size < 0 else min(size, left))

    def readinto(self, buf):
        data = self.read(len(buf))
        buf[:len(data)] = data
        return len(data)


def test_after_a_cut_the_upload_goes_on_from_the_stored_offset(app, signed):
    """What arrived before the cut is kept; the client asks HEAD and sends only the rest: the
    server reads every byte exactly once."""
    client, ids = signed
    data = scan_pdf(60)
    location = create(client, ids["a1"], data).headers["Location"]
    body = data[:4000]
    client.patch(location, input_stream=CutStream(body, 2345),
                 headers={**OCTETS, "Upload-Offset": "0", "Content-Length": str(len(body))})
    offset = int(client.head(location, headers=TUS).headers["Upload-Offset"])
    assert offset == 2345
    assert patch(client, location, offset, data[offset:]).status_code == 204
    [upload] = _uploads(app)
    assert upload.received == len(data) and upload.attachment_id is not None
    [att] = _attachments(app, ids["a1"])
    assert att.mime == "application/pdf"


def test_the_protocol_is_checked(app, signed):
    client, ids = signed
    data = scan_pdf()
    url = f"/beijing/me/applications/{ids['a1']}/uploads"
    assert client.post(url, headers={"Upload-Length": "10"}).status_code == 412
    assert client.post(url, headers={**TUS}).status_code == 400           # no Upload-Length
    r = client.post(url, headers={**TUS, "Upload-Length": "10",
                                  "Upload-Metadata": "material ZWR1Y2F0aW9u"})
    assert r.status_code == 400                                            # no checksum
    options = client.options(url)
    assert options.headers["Tus-Version"] == "1.0.0"
    assert "creation" in options.headers["Tus-Extension"]
    location = create(client, ids["a1"], data).headers["Location"]
    assert client.patch(location, data=b"x", headers={**TUS, "Upload-Offset": "0",
                                                       "Content-Type": "text/plain"}
                        ).status_code == 415
    assert client.patch(location, data=b"x", headers={**OCTETS}).status_code == 400
    assert patch(client, location, 0, data + b"extra").status_code == 400  # beyond the length
    assert _uploads(app)[0].offset == 0
    # Creating the same file again resumes the same upload rather than holding room twice.
    assert create(client, ids["a1"], data).headers["Location"] == location


def test_only_the_owner_reaches_an_upload(app, client, login, side):
    """Another applicant of the tenant, an applicant of another tenant: 404 for every method,
    never a 403 that would tell the upload exists; a clerk 403; anonymous to the sign-in."""
    data = scan_pdf()
    with time_machine.travel(WORKING, tick=False):
        login("beijing", "a1")
        location = create(client, side["a1"], data).headers["Location"]
        upload_id = location.rsplit("/", 1)[1]
        client.post("/beijing/logout")

        def every(url):
            return [client.head(url, headers=TUS).status_code,
                    client.patch(url, data=b"%PDF", headers={**OCTETS, "Upload-Offset": "0"}
                                 ).status_code,
                    client.delete(url, headers=TUS).status_code]

        assert every(location) == [302, 302, 302]
        login("beijing", "a2")
        assert every(location) == [404, 404, 404]
        # the other applicant's own application with the first one's upload id
        assert every(f"/beijing/me/applications/{side['a2']}/uploads/{upload_id}") == [404] * 3
        assert create(client, side["a1"], data).status_code == 404
        client.post("/beijing/logout")
        login("chifeng", "cf-a")
        assert every(f"/chifeng/me/applications/{side['a1']}/uploads/{upload_id}") == [404] * 3
        assert every(f"/chifeng/me/applications/{side['cf']}/uploads/{upload_id}") == [404] * 3
        client.post("/chifeng/logout")
        login("beijing", "clerk")
        assert every(location) == [403, 403, 403]
    [upload] = _uploads(app)
    assert (upload.offset, upload.received) == (0, 0)


def test_a_checksum_mismatch_is_refused_and_leaves_nothing(app, signed):
    client, ids = signed
    data = scan_pdf()
    location = create(client, ids["a1"], data, digest="0" * 64).headers["Location"]
    r = patch(client, location, 0, data)
    assert r.status_code == 422 and "校验值不符" in r.get_data(as_text=True)
    assert _attachments(app, ids["a1"]) == [] and _uploads(app) == [] and _part_files(app) == []
    assert client.head(location, headers=TUS).status_code == 404


@pytest.mark.parametrize("data,message", [
    (b"MZ\x90\x00 an executable renamed" * 100, "只接受PDF"),
    (b"%PDF-1.4 this is not really a pdf" * 100, "无法读取"),
])
def test_bad_content_is_refused_after_the_last_byte(app, signed, data, message):
    client, ids = signed
    location = create(client, ids["a1"], data, filename="scan.pdf").headers["Location"]
    assert patch(client, location, 0, data[:1000]).status_code == 204
    r = patch(client, location, 1000, data[1000:])
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    assert _attachments(app, ids["a1"]) == [] and _uploads(app) == [] and _part_files(app) == []
    with app.app_context():
        assert list(Path(app.config["UPLOAD_DIR"]).rglob("*.*")) == []


def test_limits_refuse_a_file_before_any_byte_is_sent(app, signed):
    """Per material (the checklist: ID card scans at most 5 MB, two of them) and the applicant's
    quota, on creation, with a message; nothing is created."""
    client, ids = signed
    big = create(client, ids["a1"], b"x", material="id_card", length=5 * 1024 * 1024 + 1)
    assert big.status_code == 422 and "每份不超过5.0 MB" in big.get_data(as_text=True)
    over = create(client, ids["a1"], b"x", length=app.config["MAX_UPLOAD_BYTES"] + 1)
    assert over.status_code == 422 and "每份不超过10.0 MB" in over.get_data(as_text=True)
    assert _uploads(app) == []
    # Two ID card scans (one attached, one on its way): a third is refused.
    client.post(f"/beijing/me/applications/{ids['a1']}/attachments",
                data={"material": "id_card", "scan": (io.BytesIO(f.pdf_bytes()), "front.pdf")},
                content_type="multipart/form-data")
    assert create(client, ids["a1"], scan_pdf(2), material="id_card").status_code == 201
    third = create(client, ids["a1"], scan_pdf(3), material="id_card")
    assert third.status_code == 422 and "最多上传2份" in third.get_data(as_text=True)
    plain = client.post(f"/beijing/me/applications/{ids['a1']}/attachments",
                        data={"material": "id_card",
                              "scan": (io.BytesIO(f.pdf_bytes(3)), "third.pdf")},
                        content_type="multipart/form-data", headers={"HX-Request": "true"})
    assert "最多上传2份" in plain.get_data(as_text=True)
    assert len(_attachments(app, ids["a1"])) == 1
    # The quota counts stored scans and the room every unfinished upload holds.
    used = sum(a.size for a in _attachments(app, ids["a1"])) + len(scan_pdf(2))
    app.config["UPLOAD_QUOTA_BYTES"] = used + 1000
    full = create(client, ids["a1"], b"x", length=1001)
    assert full.status_code == 422 and "上传空间不足" in full.get_data(as_text=True)
    assert create(client, ids["a1"], b"y", length=1000).status_code == 201
    plain = client.post(f"/beijing/me/applications/{ids['a1']}/attachments",
                        data={"material": "education",
                              "scan": (io.BytesIO(f.pdf_bytes(5)), "e.pdf")},
                        content_type="multipart/form-data", headers={"HX-Request": "true"})
    assert "上传空间不足" in plain.get_data(as_text=True)
    assert len(_uploads(app)) == 2 and _part_files(app)[0].stat().st_size == 0


def test_a_scan_saved_meanwhile_by_another_request_still_counts(app, signed, monkeypatch):
    """Two scans sent at once for the last place: the one whose check passed before the other
    was saved is refused when it is saved, with the same message, and leaves nothing behind.
    The other request is played by a scan committed between this one's check and its save."""
    from app import uploads
    from app.workflow import applications as svc
    client, ids = signed
    url = f"/beijing/me/applications/{ids['a1']}/attachments"
    first = client.post(url, data={"material": "id_card",
                                   "scan": (io.BytesIO(f.pdf_bytes()), "front.pdf")},
                        content_type="multipart/form-data")
    assert first.status_code == 303 and len(_attachments(app, ids["a1"])) == 1
    store = uploads.store

    def store_after_another(slug, data, mime):
        other = scan_pdf(4)
        name, digest = store(slug, other, "application/pdf")
        db.session.add(Attachment(application_id=ids["a1"], material="id_card",
                                  filename="back.pdf", stored_name=name, mime="application/pdf",
                                  size=len(other), sha256=digest, uploaded_by=db.session.scalar(
                                      sa.select(Attachment.uploaded_by).limit(1))))
        db.session.commit()
        monkeypatch.setattr(uploads, "store", store)
        return store(slug, data, mime)

    monkeypatch.setattr(uploads, "store", store_after_another)
    late = client.post(url, data={"material": "id_card",
                                  "scan": (io.BytesIO(f.pdf_bytes(2)), "late.pdf")},
                       content_type="multipart/form-data", headers={"HX-Request": "true"})
    assert late.status_code == 422 and "最多上传2份" in late.get_data(as_text=True)
    kept = _attachments(app, ids["a1"])
    assert sorted(a.filename for a in kept) == ["back.pdf", "front.pdf"]
    with app.app_context():
        files = {p.name for p in Path(app.config["UPLOAD_DIR"]).rglob("*.*")}
    assert files == {a.stored_name.rsplit("/", 1)[-1] for a in kept}
    # The same for an upload begun while another took the room: nothing of it is created.
    check = svc.check_room

    def check_then_another_begins(cfg, app_, actor, material, size, **kw):
        kind = check(cfg, app_, actor, material, size, **kw)
        app.config["UPLOAD_QUOTA_BYTES"] = resumable.svc.stored_bytes(app_.applicant_id) + size
        db.session.add(PartialUpload(tenant_id=app_.tenant_id, application_id=app_.id,
                                     owner_id=actor.user_id, material="education",
                                     filename="other.pdf", length=1, offset=0, received=0,
                                     sha256="0" * 64))
        db.session.commit()
        return kind

    monkeypatch.setattr(svc, "check_room", check_then_another_begins)
    begun = create(client, ids["a1"], scan_pdf(2))
    assert begun.status_code == 422 and "上传空间不足" in begun.get_data(as_text=True)
    assert [u.filename for u in _uploads(app)] == ["other.pdf"] and _part_files(app) == []


def test_the_page_shows_the_room_before_the_upload(app, signed):
    client, ids = signed
    app.config["UPLOAD_QUOTA_BYTES"] = 50 * 1024 * 1024
    page = client.get(f"/beijing/me/applications/{ids['a1']}").get_data(as_text=True)
    assert "剩余上传空间：50.0 MB；每份不超过10.0 MB。" in page
    assert "每份不超过5.0 MB · 还可上传2份" in page
    assert f'data-resumable="/beijing/me/applications/{ids["a1"]}/uploads"' in page
    assert "js/upload.js" in page
    data = scan_pdf()
    create(client, ids["a1"], data, material="id_card")
    page = client.get(f"/beijing/me/applications/{ids['a1']}").get_data(as_text=True)
    assert "还可上传1份" in page


def test_delete_abandons_an_upload_and_frees_its_room(app, signed):
    client, ids = signed
    data = scan_pdf()
    location = create(client, ids["a1"], data).headers["Location"]
    patch(client, location, 0, data[:100])
    assert client.delete(location, headers=TUS).status_code == 204
    assert _uploads(app) == [] and _part_files(app) == []
    assert client.head(location, headers=TUS).status_code == 404


def test_uploads_untouched_for_a_day_are_removed_by_the_job(app, signed):
    from app.jobs.uploads import remove_stale_uploads
    client, ids = signed
    data = scan_pdf()
    old = create(client, ids["a1"], data).headers["Location"]
    patch(client, old, 0, data[:100])
    fresh = create(client, ids["a1"], scan_pdf(2)).headers["Location"]
    with app.app_context():  # a piece arrived 20 hours later
        db.session.get(PartialUpload, int(fresh.rsplit("/", 1)[1])).updated_at = \
            WORKING + timedelta(hours=20)
        db.session.commit()
    with time_machine.travel(WORKING + timedelta(hours=25), tick=False), app.app_context():
        assert remove_stale_uploads() == 1
    [kept] = _uploads(app)
    assert fresh.endswith(f"/{kept.id}")
    assert [p.name for p in _part_files(app)] == [f"{kept.id}.part"]
    assert client.head(old, headers=TUS).status_code == 404


def test_the_cleanup_runs_hourly_from_rq_cron(monkeypatch):
    import importlib

    from rq import cron
    registered = []
    monkeypatch.setattr(cron, "register", lambda func, queue, **kw: registered.append(
        (func.__name__, kw.get("interval"))))
    import app.jobs.cron as module
    importlib.reload(module)
    assert ("remove_stale_uploads", 3600) in registered


def test_metadata_values_are_base64(ctx):
    assert resumable.parse_metadata("filename 5rWL6K+VLnBkZg==,empty ") == {
        "filename": "测试.pdf", "empty": ""}
    with pytest.raises(resumable.BadRequest):
        resumable.parse_metadata("filename not*base64")


def test_the_page_with_the_upload_form_still_fits_one_round_trip(app, signed):
    """The detail page, limits and upload messages included: HTML + CSS gzip within 14 KB; the
    script is a deferred file of its own."""
    import gzip
    client, ids = signed
    page = client.get(f"/beijing/me/applications/{ids['a1']}",
                      headers={"Accept-Encoding": "gzip"})
    html = gzip.decompress(page.data).decode()
    css_url = html.split('rel="stylesheet" href="')[1].split('"')[0]
    css = client.get(css_url, headers={"Accept-Encoding": "gzip"})
    assert len(page.data) + len(css.data) <= 14 * 1024, (len(page.data), len(css.data))
    script = html.split('src="/static/js/upload.js')[0].rsplit("<script", 1)[1]
    assert script.strip() == ""  # nothing between "<script" and src: no inline code
    assert '<script src="/static/js/upload.js?v=' in html and "defer></script>" in html


def test_any_headers_get_an_answer_never_a_server_error(app, signed):
    """Random Upload-Length, Upload-Metadata and Upload-Offset values and bodies: a 201, 204, or
    4xx every time; nothing attached unless the whole, matching file arrived."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    client, ids = signed
    url = f"/beijing/me/applications/{ids['a1']}/uploads"
    text = st.text(alphabet=st.sampled_from("ab ,=+/-\x00\u00e9测9"), max_size=40)
    b64 = st.binary(max_size=30).map(lambda b: base64.b64encode(b).decode())
    metadata = st.lists(st.tuples(st.sampled_from(["filename", "material", "sha256", "x"]),
                                  st.one_of(b64, text)), max_size=4).map(
        lambda pairs: ",".join(f"{k} {v}" for k, v in pairs))

    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(st.integers(-5, 20 * 1024 * 1024).map(str), text), metadata,
           st.one_of(st.integers(-5, 5000).map(str), text), st.binary(max_size=300))
    def prop(length, meta_header, offset, body):
        r = client.post(url, headers={**TUS, "Upload-Length": length,
                                      "Upload-Metadata": meta_header})
        assert r.status_code in (201, 400, 422), r.status_code
        if r.status_code == 201:
            p = client.patch(r.headers["Location"], data=body,
                             headers={**OCTETS, "Upload-Offset": offset})
            assert p.status_code in (204, 400, 409, 422), p.status_code

    prop()
    assert _attachments(app, ids["a1"]) == []


def test_an_upload_finished_after_the_window_closed_is_refused_and_removed(app, client, login,
                                                                           side):
    data = scan_pdf()
    with time_machine.travel(at(2026, 7, 30, 23, 0), tick=False):
        login("beijing", "a1")
        location = create(client, side["a1"], data).headers["Location"]
        assert patch(client, location, 0, data[:1000]).status_code == 204
    with time_machine.travel(at(2026, 7, 31, 9, 0), tick=False):
        login("beijing", "a1")
        r = patch(client, location, 1000, data[1000:])
        assert r.status_code == 422 and "截止" in r.get_data(as_text=True)
    assert _attachments(app, side["a1"]) == [] and _uploads(app) == [] and _part_files(app) == []
