"""The file store's two backends (app/uploads/storage.py) behind one interface: a directory, and
an S3-compatible object store, here a real S3 API server on loopback (moto's) spoken to by boto3
over HTTP. The same contract holds for both; with FILE_STORE_URL set, scans uploaded through
the form and through resumable uploads, downloads, tier reports and backup/restore all go
through the object store and leave nothing behind on the host but its scratch space."""
from __future__ import annotations

import base64
import hashlib
import io
import os
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
import time_machine
from werkzeug.exceptions import NotFound

from app.extensions import db
from app.models import Attachment
from app.models.reports import TierReport
from app.uploads.storage import LocalStorage, S3Storage, storage

from . import factories as f
from .conftest import at, free_port, scratch_dir
from .test_backup import _dispose, _dump, _empty, _files, _populated
from .test_resumable_uploads import side  # noqa: F401  (the fixture)
from .test_tier_reports import T as CF, forwarded  # noqa: F401  (the fixture)

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "loopback-test", "AWS_SECRET_ACCESS_KEY": "loopback-test"}


@pytest.fixture(scope="session")
def s3_endpoint():
    """An S3 API server on a loopback port for this worker; the credentials it is given."""
    from moto.server import ThreadedMotoServer
    saved = {k: os.environ.get(k) for k in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def bucket(s3_endpoint):
    """A new empty bucket; (its name, a client for looking into it)."""
    import boto3
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    name = f"zc-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return name, client


def _objects(bucket) -> dict[str, bytes]:
    name, client = bucket
    listed = client.list_objects_v2(Bucket=name).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=name, Key=o["Key"])["Body"].read()
            for o in listed}


def _use_s3(app, s3_endpoint, bucket, prefix="files") -> None:
    app.config.update(FILE_STORE_URL=f"s3://{bucket[0]}/{prefix}", S3_ENDPOINT_URL=s3_endpoint)


def _host_files(app) -> list[str]:
    """Files left under UPLOAD_DIR, scratch space and unfinished uploads aside."""
    root = Path(app.config["UPLOAD_DIR"])
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and not p.name.startswith("incoming-"))


# -- the contract, on both backends --------------------------------------------------------------

@pytest.fixture(params=["local", "s3"])
def store(request, ctx):
    if request.param == "s3":
        _use_s3(ctx, request.getfixturevalue("s3_endpoint"), request.getfixturevalue("bucket"))
    chosen = storage()
    assert isinstance(chosen, S3Storage if request.param == "s3" else LocalStorage)
    return chosen


def test_both_backends_keep_the_same_contract(store, ctx):
    assert list(store.keys()) == []
    store.put("beijing/b.pdf", b"%PDF-b")
    store.put("beijing/a.png", b"png-a")
    made = store.incoming("chifeng/reports/r.xlsx")
    assert made.suffix == ".xlsx" and made.name.startswith("incoming-")
    made.write_bytes(b"PK-report")
    store.put_file("chifeng/reports/r.xlsx", made)
    assert not made.exists()  # moved in, not copied
    assert list(store.keys()) == ["beijing/a.png", "beijing/b.pdf", "chifeng/reports/r.xlsx"]
    assert store.read("chifeng/reports/r.xlsx") == b"PK-report"
    with store.open("beijing/b.pdf") as fh:
        assert fh.read() == b"%PDF-b"
    assert store.exists("beijing/a.png") and not store.exists("beijing/none.png")
    assert store.size("beijing/b.pdf") == 6
    with pytest.raises(FileNotFoundError):
        store.read("beijing/none.png")
    with pytest.raises(FileNotFoundError):
        store.size("beijing/none.png")
    for bad in ("", "/etc/passwd", "beijing/../chifeng/x", "beijing//x", "./x"):
        with pytest.raises(ValueError):
            store.put(bad, b"x")
    store.put("beijing/b.pdf", b"%PDF-b2")  # a key written again holds the new bytes
    assert store.read("beijing/b.pdf") == b"%PDF-b2"
    store.delete("beijing/a.png")
    store.delete("beijing/a.png")  # deleting what is gone is no error
    assert list(store.keys()) == ["beijing/b.pdf", "chifeng/reports/r.xlsx"]


def test_both_backends_send_a_download_that_no_cache_keeps(store, ctx):
    store.put("beijing/s.pdf", b"%PDF-1.7 scan")
    with ctx.test_request_context():
        resp = store.send("beijing/s.pdf", mimetype="application/pdf", download_name="身份证.pdf")
        resp.direct_passthrough = False
        assert resp.get_data() == b"%PDF-1.7 scan"
        assert resp.content_length == 13 and resp.mimetype == "application/pdf"
        assert f"filename*=UTF-8''{quote('身份证.pdf')}" in resp.headers["Content-Disposition"]
        assert resp.headers["Content-Disposition"].startswith("attachment")
        assert "no-cache" in resp.headers["Cache-Control"] or \
            "max-age=0" in resp.headers["Cache-Control"]
        resp.close()
        with pytest.raises(NotFound):
            store.send("beijing/gone.pdf", mimetype="application/pdf", download_name="x.pdf")


def test_a_store_url_that_is_not_s3_is_refused(ctx):
    ctx.config["FILE_STORE_URL"] = "ftp://files.example/zc"
    with pytest.raises(ValueError, match="FILE_STORE_URL"):
        storage()


# -- the app on an object store ------------------------------------------------------------------

def test_scans_sent_by_form_and_in_pieces_live_in_the_object_store(
        app, client, login, side, s3_endpoint, bucket):  # noqa: F811
    _use_s3(app, s3_endpoint, bucket)
    scan, pieces = f.pdf_bytes(2), f.pdf_bytes(6)
    with time_machine.travel(at(2026, 7, 10, 10), tick=False):
        login("beijing", "a1")
        url = f"/beijing/me/applications/{side['a1']}"
        assert client.post(f"{url}/attachments", data={
            "material": "id_card", "scan": (io.BytesIO(scan), "身份证.pdf")},
            content_type="multipart/form-data").status_code == 303
        meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in {
            "filename": "学历.pdf", "material": "education",
            "sha256": hashlib.sha256(pieces).hexdigest()}.items())
        tus = {"Tus-Resumable": "1.0.0"}
        made = client.post(f"{url}/uploads", headers={
            **tus, "Upload-Length": str(len(pieces)), "Upload-Metadata": meta})
        assert made.status_code == 201
        half = len(pieces) // 2
        for offset, body in ((0, pieces[:half]), (half, pieces[half:])):
            sent = client.patch(made.headers["Location"], data=body, headers={
                **tus, "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": str(offset)})
            assert sent.status_code == 204, sent.get_data(as_text=True)
        with app.app_context():
            atts = {a.filename: a for a in db.session.scalars(
                sa.select(Attachment).filter_by(application_id=side["a1"]))}
        assert set(atts) == {"身份证.pdf", "学历.pdf"}
        objects = _objects(bucket)
        assert set(objects) == {f"files/beijing/{a.stored_name}" for a in atts.values()}
        for a in atts.values():
            assert hashlib.sha256(objects[f"files/beijing/{a.stored_name}"]).hexdigest() == a.sha256
        # Nothing of them stays on the host: not the scan, not the pieces.
        assert _host_files(app) == []
        got = client.get(f"{url}/attachments/{atts['身份证.pdf'].id}")
        assert got.status_code == 200
        assert got.data == objects[f"files/beijing/{atts['身份证.pdf'].stored_name}"]
        # Removing a scan removes its object.
        assert client.post(f"{url}/attachments/{atts['身份证.pdf'].id}/delete").status_code == 303
        assert set(_objects(bucket)) == {f"files/beijing/{atts['学历.pdf'].stored_name}"}


def test_a_missing_object_is_a_404_not_an_error(app, client, login, side, s3_endpoint,  # noqa: F811
                                                bucket):
    _use_s3(app, s3_endpoint, bucket)
    with time_machine.travel(at(2026, 7, 10, 10), tick=False):
        login("beijing", "a1")
        url = f"/beijing/me/applications/{side['a1']}"
        client.post(f"{url}/attachments", data={
            "material": "id_card", "scan": (io.BytesIO(f.pdf_bytes()), "a.pdf")},
            content_type="multipart/form-data")
        with app.app_context():
            att = db.session.scalar(sa.select(Attachment).filter_by(application_id=side["a1"]))
            storage().delete(f"beijing/{att.stored_name}")
        assert client.get(f"{url}/attachments/{att.id}").status_code == 404


def test_tier_reports_are_written_to_and_downloaded_from_the_object_store(
        app, client, forwarded, s3_endpoint, bucket):  # noqa: F811
    _use_s3(app, s3_endpoint, bucket, prefix="")
    with time_machine.travel(at(2026, 7, 2, 10), tick=False):
        assert client.post(f"/{CF}/office/reports", data={"plan": forwarded}).status_code == 303
        with app.app_context():
            made = db.session.scalars(sa.select(TierReport).order_by(TierReport.id)).all()
        assert len(made) == 4
        objects = _objects(bucket)
        assert set(objects) == {f"{CF}/reports/{r.stored_name}" for r in made}
        for r in made:
            got = client.get(f"/{CF}/office/reports/{r.id}")
            assert got.status_code == 200 and got.data == objects[f"{CF}/reports/{r.stored_name}"]
    assert _host_files(app) == []


def test_backup_of_an_object_store_restores_onto_a_directory_and_back(tmp_path, s3_endpoint):
    """An instance on the object store is backed up; the archive restores into an empty
    instance on a directory, and into one on a fresh bucket: every row and file the same."""
    import boto3
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    buckets = [f"zc-{uuid.uuid4().hex[:12]}" for _ in range(2)]
    for name in buckets:
        client.create_bucket(Bucket=name)
    on_s3 = {"S3_ENDPOINT_URL": s3_endpoint}
    source = _populated(f"sqlite:///{scratch_dir() / f'{tmp_path.name}-s3src.db'}",
                        tmp_path / "src", FILE_STORE_URL=f"s3://{buckets[0]}/zc", **on_s3)
    targets = []
    try:
        files, rows = _files(source), _dump(source)
        assert len(files) >= 3 and any(k.startswith("chifeng/") for k in files)
        assert _host_files(source) == []
        archive = tmp_path / "instance.tar"
        with source.app_context():
            result = source.test_cli_runner().invoke(args=["backup", str(archive)])
        assert result.exit_code == 0, result.output
        for i, overrides in enumerate(({}, {"FILE_STORE_URL": f"s3://{buckets[1]}/", **on_s3})):
            target = _empty(f"sqlite:///{tmp_path / f'target{i}.db'}", tmp_path / f"t{i}",
                            **overrides)
            targets.append(target)
            with target.app_context():
                result = target.test_cli_runner().invoke(args=["restore", str(archive)])
                db.session.remove()
            assert result.exit_code == 0, result.output
            assert _files(target) == files
            assert _dump(target) == rows
        # A restore refuses a store that is not empty: the bucket now holds the files.
        again = _empty(f"sqlite:///{tmp_path / 'again.db'}", tmp_path / "again",
                       FILE_STORE_URL=f"s3://{buckets[1]}/", **on_s3)
        targets.append(again)
        with again.app_context():
            result = again.test_cli_runner().invoke(args=["restore", str(archive)])
        assert result.exit_code != 0 and f"s3://{buckets[1]}/" in result.output
    finally:
        for app in (source, *targets):
            _dispose(app)


def test_one_client_serves_every_request_of_a_process(ctx, s3_endpoint, bucket):
    """Making a boto3 client costs tens of milliseconds: it is made once per endpoint."""
    _use_s3(ctx, s3_endpoint, bucket)
    first = storage()
    assert {id(storage().client) for _ in range(5)} == {id(first.client)}
    ctx.config["S3_ENDPOINT_URL"] = s3_endpoint + "/"  # another endpoint: a client of its own
    assert storage().client is not first.client
