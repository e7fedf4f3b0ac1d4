"""A server that slow clients cannot block (issue 16 §2): the app served as `make run` serves it
(gunicorn with deploy/gunicorn.conf.py, the workers and threads scripts/run.sh gives it, a
throwaway database and secrets), two applicants' scans sent at 25 KB/s over raw sockets, and
meanwhile another user's sign-in page answers within a second; the slow uploads are stored (303),
not cut by the worker timeout, which is set below their transfer time here to prove it. An upload
whose client falls silent mid-body (a phone out of signal) is answered 400 once the client idle
timeout passes, its thread free again and nothing stored."""
from __future__ import annotations

import html
import http.cookiejar
import io
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from app.extensions import db
from app.models import Application, Attachment, User

from .conftest import build_app, free_port, scratch_dir, secrets_env

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
RATE = 25 * 1024          # bytes per second each slow client sends
STEP = 0.1                # seconds between its writes
SCAN_PIXELS = (300, 300)  # noise PNG: about 270 KB that no compression shrinks, ~11 s at RATE
WORKER_TIMEOUT = 5        # below the uploads' transfer time: a sync worker would be killed
CLIENT_IDLE = 3           # WEB_CLIENT_IDLE_TIMEOUT: far above STEP, far below the transfer time
ANSWER_WITHIN = 1.0

# It serves a database file of its own: once per suite (not again on the PostgreSQL pass).
pytestmark = pytest.mark.skipif(os.environ.get("TEST_DATABASE") == "postgres",
                                reason="serves its own SQLite file; run on the SQLite pass")


def _run_sh_web() -> tuple[list[str], dict[str, str]]:
    """The web server command and worker settings of scripts/run.sh (`make run`)."""
    script = (ROOT / "scripts" / "run.sh").read_text()
    command = re.search(r"stack_web \S+ \\\n\s+(\.venv/bin/gunicorn [^\n]+)", script)
    assert command, "scripts/run.sh starts no gunicorn"
    defaults = dict(re.findall(r"\b(WEB_WORKERS|WEB_THREADS)=\$\{\1:-(\d+)\}", script))
    assert set(defaults) == {"WEB_WORKERS", "WEB_THREADS"}, defaults
    args = command.group(1).split()[1:]
    assert "-c" in args and args[args.index("-c") + 1] == "deploy/gunicorn.conf.py"
    # The production script serves with the same configuration file.
    assert ".venv/bin/gunicorn -c deploy/gunicorn.conf.py" in \
        (ROOT / "scripts" / "run_prod.sh").read_text()
    return args, defaults


def _noise_png() -> bytes:
    buf = io.BytesIO()
    Image.frombytes("RGB", SCAN_PIXELS, os.urandom(SCAN_PIXELS[0] * SCAN_PIXELS[1] * 3)) \
        .save(buf, "PNG")
    return buf.getvalue()


@dataclass
class Server:
    base: str
    port: int
    app: object
    draft_id: int
    proc: subprocess.Popen
    log: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The demo data in a fresh SQLite file, served by gunicorn as scripts/run.sh starts it."""
    from app.demo import load_demo
    from app.models import Tenant
    from app.tenancy import tenants
    from app.workflow.calendar import today_local

    tmp = tmp_path_factory.mktemp("slow")
    env_secrets = secrets_env()
    url = f"sqlite:///{scratch_dir() / (tmp.name + '.db')}"
    app = build_app(url, tmp, DATA_KEYS=env_secrets["DATA_KEYS"],
                    DATA_HASH_KEY=env_secrets["DATA_HASH_KEY"])
    with app.app_context():
        cfg = tenants()["beijing"]
        load_demo(cfg, db.session.scalar(sa.select(Tenant.id).filter_by(slug="beijing")),
                  today_local())
        draft_id = db.session.scalar(
            sa.select(Application.id).join(User, Application.applicant_id == User.id)
            .where(User.username == "bj-draft"))
        db.session.remove()
        db.engine.dispose()
    assert draft_id, "the demo has no draft of bj-draft"

    args, workers = _run_sh_web()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "DATABASE_"))}
    env.update(env_secrets, **workers, DATABASE_URL=url, UPLOAD_DIR=str(tmp / "uploads"),
               KEYRING_FILE=str(tmp / "no-keyring.json"), JOBS_INLINE="1",
               REDIS_URL=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:1/0"),
               RATELIMIT_STORAGE_URI="memory://", PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
               HOST="127.0.0.1", PORT=str(port), WEB_TIMEOUT=str(WORKER_TIMEOUT),
               WEB_CLIENT_IDLE_TIMEOUT=str(CLIENT_IDLE),
               WEB_CONTROL_SOCKET="")
    log = tmp / "web.log"
    args = [a.replace("$HOST", "127.0.0.1").replace("$PORT", str(port)).strip('"')
            for a in args]
    with log.open("wb") as out:
        proc = subprocess.Popen([str(GUNICORN), *args], env=env, cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(base + "/beijing/login", timeout=5).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("gunicorn did not start:\n" + log.read_text()[-3000:])
                time.sleep(0.3)
        yield Server(base, port, app, draft_id, proc, log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _sign_in(base: str, username: str) -> tuple[str, str]:
    """A real sign-in through the form; (the session cookie header, a CSRF token)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = f"{base}/beijing/login"
    page = opener.open(login).read().decode()
    token = html.unescape(re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1))
    body = urllib.parse.urlencode({"csrf_token": token, "username": username,
                                   "password": "Demo-2026!"}).encode()
    landed = opener.open(urllib.request.Request(login, data=body, method="POST"))
    assert "/login" not in landed.url, "sign-in failed"
    page = landed.read().decode()
    token = html.unescape(re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1))
    return "; ".join(f"{c.name}={c.value}" for c in jar), token


@dataclass
class SlowUpload:
    """A multipart POST written RATE bytes a second over a raw socket; the answer's status."""
    port: int
    path: str
    cookie: str
    fields: dict[str, str]
    scan: bytes
    started: float = 0.0
    sent: float = 0.0        # when the last byte went out
    answered: float = 0.0
    status: int | None = None
    error: str = ""
    thread: threading.Thread = field(init=False)

    def body(self) -> tuple[bytes, str]:
        boundary = secrets.token_hex(12)
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                 .encode() for k, v in self.fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="scan"; '
                     f'filename="scan.png"\r\nContent-Type: image/png\r\n\r\n'.encode()
                     + self.scan + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return b"".join(parts), boundary

    def run(self) -> None:
        try:
            body, boundary = self.body()
            head = (f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                    f"Cookie: {self.cookie}\r\nContent-Type: multipart/form-data; "
                    f"boundary={boundary}\r\nContent-Length: {len(body)}\r\n"
                    "Connection: close\r\n\r\n").encode()
            with socket.create_connection(("127.0.0.1", self.port), timeout=60) as s:
                self.started = time.monotonic()
                s.sendall(head)
                chunk = int(RATE * STEP)
                for i in range(0, len(body), chunk):
                    s.sendall(body[i:i + chunk])
                    time.sleep(STEP)
                self.sent = time.monotonic()
                answer = b""
                while b"\r\n" not in answer:
                    got = s.recv(4096)
                    if not got:
                        break
                    answer += got
                self.answered = time.monotonic()
            line = answer.split(b"\r\n", 1)[0].decode("latin-1")
            self.status = int(line.split()[1]) if line.startswith("HTTP/") else None
            self.error = "" if self.status else f"no HTTP answer: {answer[:200]!r}"
        except OSError as e:
            self.error = f"{type(e).__name__}: {e}"

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()


def _timed_get(url: str) -> tuple[int, float]:
    """(status, seconds); status 0 when no answer came within 5 s."""
    start = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            resp.read()
            status = resp.status
    except urllib.error.HTTPError as e:
        status = e.code
    except OSError:
        status = 0
    return status, time.monotonic() - start


def test_two_slow_uploads_neither_block_others_nor_get_cut(server):
    cookie, token = _sign_in(server.base, "bj-draft")
    path = f"/beijing/me/applications/{server.draft_id}/attachments"
    uploads = [SlowUpload(server.port, path, cookie,
                          {"csrf_token": token, "material": "achievements"}, _noise_png())
               for _ in range(2)]
    transfer = len(uploads[0].scan) / RATE
    assert transfer > WORKER_TIMEOUT + 3  # each outlasts the worker timeout by a margin
    login_page = f"{server.base}/beijing/login"
    for u in uploads:
        u.start()
    time.sleep(1.0)  # both are sending by now
    probes = []
    while all(u.thread.is_alive() and not u.sent for u in uploads):
        probes.append(_timed_get(login_page))
        time.sleep(0.25)
    for u in uploads:
        u.thread.join(transfer + 60)
    # Another user's page answered at once all the while both uploads were in flight.
    assert len(probes) >= 10, probes
    assert all(status == 200 for status, _ in probes), probes
    slowest = max(took for _, took in probes)
    assert slowest < ANSWER_WITHIN, f"sign-in page took {slowest:.2f} s during the uploads"
    # Each upload ran longer than the worker timeout and was answered as a stored scan.
    for u in uploads:
        assert not u.error, u.error + "\n" + server.log.read_text()[-3000:]
        assert u.sent - u.started > WORKER_TIMEOUT + 3
        assert u.status == 303, (u.status, server.log.read_text()[-3000:])
    assert "WORKER TIMEOUT" not in server.log.read_text()
    with server.app.app_context():
        stored = db.session.scalars(sa.select(Attachment).filter_by(
            application_id=server.draft_id, material="achievements", filename="scan.png")).all()
        assert len(stored) == 2
        assert all(a.mime == "image/png" and a.size > 0 for a in stored)
        db.session.remove()


def test_two_scans_sent_at_once_for_the_last_place_store_one(server):
    """The draft holds one of its two ID card scans; two sent at the same moment both pass the
    first check, and the save lets exactly one of them in."""
    cookie, token = _sign_in(server.base, "bj-draft")
    url = f"{server.base}/beijing/me/applications/{server.draft_id}/attachments"

    def ids() -> int:
        with server.app.app_context():
            n = db.session.scalar(sa.select(sa.func.count()).select_from(Attachment).filter_by(
                application_id=server.draft_id, material="id_card"))
            db.session.remove()
        return n

    assert ids() == 1
    bodies = [SlowUpload(server.port, "", cookie, {"csrf_token": token, "material": "id_card"},
                         _noise_png()).body() for _ in range(2)]
    start = threading.Barrier(2)
    answers: list[int] = []

    def send(body: bytes, boundary: str) -> None:
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Cookie": cookie, "Content-Type": f"multipart/form-data; boundary={boundary}",
            "HX-Request": "true"})
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:
                answers.append(resp.status)
        except urllib.error.HTTPError as e:
            answers.append(e.code)

    threads = [threading.Thread(target=send, args=b) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert sorted(answers) == [200, 422], answers
    assert ids() == 2


def _stored(server) -> int:
    with server.app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)
                              .filter_by(application_id=server.draft_id))
        db.session.remove()
    return n


def test_an_upload_whose_client_falls_silent_is_ended_and_nothing_is_stored(server):
    cookie, token = _sign_in(server.base, "bj-draft")
    before = _stored(server)
    upload = SlowUpload(server.port, f"/beijing/me/applications/{server.draft_id}/attachments",
                        cookie, {"csrf_token": token, "material": "id_card"}, _noise_png())
    body, boundary = upload.body()
    head = (f"POST {upload.path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Cookie: {cookie}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=CLIENT_IDLE + 30) as s:
        s.sendall(head + body[:len(body) // 2])
        silent = time.monotonic()
        answer = s.recv(4096)  # the socket stays open: only the server can end this
        waited = time.monotonic() - silent
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert CLIENT_IDLE - 0.5 < waited < CLIENT_IDLE + 10, waited
    assert _stored(server) == before
    log = server.log.read_text()
    assert "Traceback" not in log and "WORKER TIMEOUT" not in log, log[-3000:]
    # The thread is serving others again.
    assert _timed_get(f"{server.base}/beijing/login")[0] == 200


def test_the_nginx_example_buffers_request_bodies_within_the_apps_limit():
    """In production nginx takes the slow client's body whole before gunicorn sees it."""
    from app.config import Config
    conf = (ROOT / "deploy" / "nginx" / "zhicheng.conf").read_text()
    server_block = conf.split("location", 1)[0]
    assert re.search(r"^\s*proxy_request_buffering on;", server_block, re.M)
    assert re.search(r"^\s*proxy_buffering on;", server_block, re.M)
    assert re.search(r"^\s*client_body_buffer_size \d+[km];", server_block, re.M)
    limit = re.search(r"^\s*client_max_body_size (\d+)m;", server_block, re.M)
    assert limit and int(limit.group(1)) * 1024 * 1024 >= Config.MAX_CONTENT_LENGTH
    assert not re.search(r"proxy_request_buffering off", conf)
