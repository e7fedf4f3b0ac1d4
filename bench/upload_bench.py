"""Resumable-upload benchmark (issue 16 §1, §5): the app under gunicorn (one sync worker, as
run-prod starts it) and a Python client speaking the upload protocol (app/uploads/resumable.py)
in 256 KB pieces, as static/js/upload.js does.

    .venv/bin/python bench/upload_bench.py [--kbps 200] [--rtt-ms 400] [--slow-mb 10]

Figures go to bench/results.json (bench/results.py):
- upload_10mb_slow_profile_s: a 10 MB scan at the slow profile (the client paces its bytes at
  200 kbps and waits one 400 ms round trip per request), from creation to attached;
- upload_50mb_peak_rss_delta_mb: how far the worker's peak RSS rose above its RSS before a
  50 MB upload while its bytes arrive (the kernel's high-water mark, reset first; every piece
  but the last): flat when the bytes stream to disk;
- upload_50mb_finish_rss_delta_mb: the same for the last piece, which ends the upload: checksum,
  content checks, and — the file being a 50 MB PNG of about 17 megapixels — decoding it to scale
  it down to the tenant's resolution. That costs what the pixels cost (bounded by
  MAX_IMAGE_PIXELS), not what the bytes do;
- upload_20mb_resent_after_cut_bytes: a 20 MB upload whose line is cut in the middle of a piece
  and resumed from the stored offset: the bytes the server read beyond the file's size (0: no
  finished byte sent twice).
Every secret is a fresh random throwaway; the database is a temporary SQLite file."""
from __future__ import annotations

import argparse
import base64
import hashlib
import html
import http.client
import io
import os
import re
import socket
import sys
import tempfile
import time
import urllib.parse
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Application, Committee, Org, PartialUpload, Plan, Tenant, User  # noqa: E402
from app.tenancy.schema import OrgKind  # noqa: E402
from app.workflow.accounts import hash_password  # noqa: E402
from app.workflow.ids import clean_uscc  # noqa: E402
from bench.close_bench import fresh_schema  # noqa: E402
from bench.office_bench import environment, gunicorn, private_redis, settings  # noqa: E402
from bench.results import figure, record, show  # noqa: E402

MB = 1024 * 1024
PIECE = 256 * 1024  # as static/js/upload.js
TENANT = "beijing"
PASSWORD = "Bench-upload-1"


def noise_png(size: int) -> bytes:
    """A PNG of random pixels of about `size` bytes (random pixels do not compress)."""
    side = int((size / 3) ** 0.5)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(
        out, "PNG", compress_level=1)
    return out.getvalue()


def seed(app) -> int:
    """One applicant with a draft in a Beijing plan whose apply window is open today."""
    with app.app_context():
        tenant = db.session.scalar(sa.select(Tenant).filter_by(slug=TENANT))
        plan = db.session.scalar(sa.select(Plan).filter_by(tenant_id=tenant.id, code="bj-2026"))
        window = plan.window("apply")
        window.opens_on, window.closes_on = date.today() - timedelta(days=1), \
            date.today() + timedelta(days=30)
        from stdnum.cn import uscc
        base = "91110000MA0000001"
        employer = Org(tenant_id=tenant.id, code="bench-emp", name="上传测试单位",
                       kind=OrgKind.employer.value, tier="county", district="haidian",
                       uscc=clean_uscc(base + uscc.calc_check_digit(base)),
                       employer_kind="state_owned", status="approved")
        db.session.add(employer)
        db.session.flush()
        user = User(tenant_id=tenant.id, username="bench-applicant", name="上传测试",
                    role="applicant", org_id=employer.id, person_type="professional",
                    password_hash=hash_password(PASSWORD), mobile="14500000001")
        db.session.add(user)
        db.session.flush()
        committee = db.session.scalar(sa.select(Committee).filter_by(tenant_id=tenant.id,
                                                                     code="bj-eng"))
        application = Application(tenant_id=tenant.id, applicant_id=user.id, plan_id=plan.id,
                                  committee_id=committee.id, series="engineering",
                                  level="intermediate", specialty="mechanical",
                                  person_type="professional", employer_org_id=employer.id,
                                  basic={"name": user.name})
        db.session.add(application)
        db.session.commit()
        return application.id


class Client:
    """The upload protocol over plain HTTP/1.1, paced to `kbps` up with `rtt` seconds of
    latency per request when given. `sent` counts PATCH body bytes put on the wire."""

    def __init__(self, base: str, app_id: int, kbps: float | None = None, rtt: float = 0):
        url = urllib.parse.urlsplit(base)
        self.host, self.port, self.app_id = url.hostname, url.port, app_id
        self.rate = kbps * 1000 / 8 if kbps else None
        self.rtt, self.sent, self.cookie, self.token = rtt, 0, "", ""

    def _request(self, method, path, headers=None, body=b"", cut_after: int | None = None):
        time.sleep(self.rtt)
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        conn.putrequest(method, path, skip_accept_encoding=True)
        headers = {"Cookie": self.cookie, "Content-Length": str(len(body)), **(headers or {})}
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        started, done = time.monotonic(), 0
        stop = len(body) if cut_after is None else cut_after
        while done < stop:
            piece = body[done:min(stop, done + 16 * 1024)]
            conn.sock.sendall(piece)
            done += len(piece)
            if self.rate:
                ahead = started + done / self.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        if method == "PATCH":
            self.sent += done
        if cut_after is not None:  # the line goes: the server sees the body end early
            conn.sock.shutdown(socket.SHUT_RDWR)
            conn.close()
            return None
        resp = conn.getresponse()
        resp.read()
        conn.close()
        return resp

    def sign_in(self):
        resp = self._request("GET", f"/{TENANT}/login")
        self.cookie = resp.getheader("Set-Cookie", "").split(";", 1)[0]
        page = self._page(f"/{TENANT}/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrf_token": html.unescape(token), "password": PASSWORD,
                                       "username": "bench-applicant"}).encode()
        resp = self._request("POST", f"/{TENANT}/login", {
            "Content-Type": "application/x-www-form-urlencoded"}, body)
        self.cookie = resp.getheader("Set-Cookie", "").split(";", 1)[0] or self.cookie
        page = self._page(f"/{TENANT}/me/applications/{self.app_id}")
        if "data-resumable" not in page:
            raise SystemExit("the applicant's page has no upload form (sign-in failed?)")
        self.token = html.unescape(re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                                             page).group(1))

    def _page(self, path) -> str:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        conn.request("GET", path, headers={"Cookie": self.cookie})
        body = conn.getresponse().read().decode()
        conn.close()
        return body

    def _tus(self, **headers):
        return {"Tus-Resumable": "1.0.0", "X-CSRFToken": self.token,
                **{k.replace("_", "-"): v for k, v in headers.items()}}

    def create(self, data: bytes, name: str) -> str:
        meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in {
            "filename": name, "material": "achievements",
            "sha256": hashlib.sha256(data).hexdigest()}.items())
        resp = self._request("POST", f"/{TENANT}/me/applications/{self.app_id}/uploads",
                             self._tus(Upload_Length=str(len(data)), Upload_Metadata=meta))
        if resp.status != 201:
            raise SystemExit(f"create: {resp.status}")
        return resp.getheader("Location")

    def offset(self, location: str) -> int:
        return int(self._request("HEAD", location, self._tus()).getheader("Upload-Offset"))

    def send(self, data: bytes, location: str, cut_at: int | None = None,
             upto: int | None = None) -> None:
        """Every piece from the stored offset; with `cut_at`, the line is cut once inside the
        piece holding that byte, then the upload resumes from what the server says it has; with
        `upto`, it stops once the server holds that many bytes."""
        at = self.offset(location)
        while at < min(len(data), upto or len(data)):
            piece = data[at:at + PIECE]
            headers = self._tus(Upload_Offset=str(at),
                                Content_Type="application/offset+octet-stream")
            if cut_at is not None and at <= cut_at < at + len(piece):
                self._request("PATCH", location, headers, piece, cut_after=cut_at - at)
                cut_at = None
                time.sleep(0.5)
                at = self.offset(location)
                continue
            resp = self._request("PATCH", location, headers, piece)
            if resp.status not in (204, 409):
                raise SystemExit(f"PATCH at {at}: {resp.status}")
            at = int(resp.getheader("Upload-Offset"))


def worker_pid(master: int) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                return int(entry.name)
    raise SystemExit("no gunicorn worker found")


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise SystemExit(f"no {field} for {pid}")


def upload_row(app, location: str) -> PartialUpload:
    with app.app_context():
        row = db.session.get(PartialUpload, int(location.rsplit("/", 1)[1]))
        db.session.expunge(row)
        db.session.remove()
        return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kbps", type=float, default=200, help="client upload rate")
    parser.add_argument("--rtt-ms", type=float, default=400, help="latency per request")
    parser.add_argument("--slow-mb", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, private_redis(tmp) as redis_url:
        config = settings(f"sqlite:///{tmp}/upload.db")
        app = fresh_schema(create_app({**config, "REDIS_URL": redis_url,
                                       "UPLOAD_DIR": str(Path(tmp) / "uploads")}))
        app_id = seed(app)
        env = environment(config, tmp, redis_url)
        env.update(MAX_UPLOAD_MB="64", UPLOAD_QUOTA_MB="1024")
        files = {size: noise_png(size * MB) for size in (args.slow_mb, 20, 50)}
        with gunicorn("wsgi:app", env, 1, "sync") as base:
            fast = Client(base, app_id)
            fast.sign_in()
            # Warm up: the first upload loads what checking and storing a scan needs.
            warm = noise_png(2 * MB)
            fast.send(warm, fast.create(warm, "warm.png"))

            # 50 MB at full speed: the worker's peak RSS against its RSS just before, while
            # every piece but the last streams to disk; then, reset, while the last piece ends
            # the upload (checksum, content checks, scaling an image down, storing).
            import subprocess  # noqa: PLC0415  (only here: the master's pid)
            master = int(subprocess.check_output(
                ["pgrep", "-f", "-o", f"gunicorn --bind 127.0.0.1:{base.rsplit(':', 1)[1]}"]))
            worker = worker_pid(master)
            Path(f"/proc/{worker}/clear_refs").write_text("5")  # reset the high-water mark
            before = memory_kb(worker, "VmRSS")
            big = files[50]
            location = fast.create(big, "50mb.png")
            fast.send(big, location, upto=(len(big) - 1) // PIECE * PIECE)
            peak = memory_kb(worker, "VmHWM")
            Path(f"/proc/{worker}/clear_refs").write_text("5")
            before_finish = memory_kb(worker, "VmRSS")
            fast.send(big, location)
            finish_peak = memory_kb(worker, "VmHWM")
            if upload_row(app, location).attachment_id is None:
                raise SystemExit("the 50 MB upload was not attached")

            # 20 MB cut in the middle of a piece, then resumed.
            data = files[20]
            cutting = Client(base, app_id)
            cutting.cookie, cutting.token = fast.cookie, fast.token
            location = cutting.create(data, "20mb.png")
            cutting.send(data, location, cut_at=len(data) // 2 + PIECE // 3)
            row = upload_row(app, location)
            if row.attachment_id is None:
                raise SystemExit("the 20 MB upload was not attached")
            resent = row.received - row.length

            # The slow profile.
            slow = Client(base, app_id, kbps=args.kbps, rtt=args.rtt_ms / 1000)
            slow.cookie, slow.token = fast.cookie, fast.token
            data = files[args.slow_mb]
            started = time.monotonic()
            location = slow.create(data, "slow.png")
            slow.send(data, location)
            seconds = time.monotonic() - started
            if upload_row(app, location).attachment_id is None:
                raise SystemExit("the slow upload was not attached")
    slow_name = f"upload_{args.slow_mb}mb_slow_profile_s"
    if (args.kbps, args.rtt_ms) != (200, 400):  # not the slow profile: not under its name
        slow_name = f"upload_{args.slow_mb}mb_{args.kbps:g}kbps_{args.rtt_ms:g}ms_s"
    out = {
        slow_name: figure(round(seconds, 1), "s"),
        "upload_50mb_peak_rss_delta_mb": figure(round(max(0, peak - before) / 1024, 1), "MB"),
        "upload_50mb_finish_rss_delta_mb": figure(
            round(max(0, finish_peak - before_finish) / 1024, 1), "MB"),
        "upload_20mb_resent_after_cut_bytes": figure(resent, "bytes"),
    }
    print()
    show(out)
    path = record(out)
    print(f"\nwritten to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
