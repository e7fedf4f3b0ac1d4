"""Photo benchmark (issue 16 §5): the bytes a browser sends for a ~10 MB phone photo of an A4
page once static/js/downscale.js has scaled it down.

    .venv/bin/python bench/photo_bench.py [--chromium PATH]

A tiny page (a multipart form with `<input type=file data-downscale>`, the real script and the
schema's default `uploads.image_max_side`) is served from a local HTTP server; headless Chromium
picks the photo, waits for the script to finish (the form's data-busy) and submits; the server
counts the request body it received. Figure in bench/results.json (bench/results.py):
photo_10mb_sent_bytes. `make bench` runs this script."""
from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import sys
import tempfile
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.tenancy.schema import UploadRules  # noqa: E402
from bench.results import figure, record, show  # noqa: E402

SCRIPT = ROOT / "static" / "js" / "downscale.js"
# A 16-megapixel phone camera (4624 × 3468) at high JPEG quality: about 10 MB.
PHOTO_SIZE, PHOTO_QUALITY, PHOTO_NOISE = (4624, 3468), 95, 0.2
EXIF_ORIENTATION = 0x0112


def paper_photo(width: int = PHOTO_SIZE[0], height: int = PHOTO_SIZE[1], *,
                quality: int = PHOTO_QUALITY, noise: float = PHOTO_NOISE,
                orientation: int | None = None, seed: int = 16) -> bytes:
    """A JPEG that looks to an encoder like a phone photo of a printed page: paper under uneven
    light, lines of dark "words", and sensor noise (the share `noise` of random pixels) that
    makes a camera's files large. `orientation` sets the EXIF tag (6: to be turned 90°
    clockwise, as phones store portrait shots)."""
    rnd = random.Random(seed)
    light = (Image.linear_gradient("L").rotate(30).resize((width, height))
             .point(lambda v: 200 + v // 6))
    page = Image.merge("RGB", (light, light, light.point(lambda v: v - 12)))
    draw = ImageDraw.Draw(page)
    margin, line = width // 10, max(12, height // 60)
    for y in range(margin, height - margin, line * 2):
        x = margin
        while x < width - margin:
            word = rnd.randint(line // 2, line * 3)
            draw.rectangle((x, y, min(x + word, width - margin), y + line * 2 // 3),
                           fill=(40, 40, 45))
            x += word + line // 2
    grain = Image.frombytes("RGB", (width, height), rnd.randbytes(width * height * 3))
    page = Image.blend(page, grain, noise)
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation is not None:
        exif[EXIF_ORIENTATION] = orientation
    page.save(out, "JPEG", quality=quality, **({"exif": exif.tobytes()} if exif else {}))
    return out.getvalue()


PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script src="/downscale.js" defer></script></head><body>
<form method="post" action="/upload" enctype="multipart/form-data">
<input type="file" name="scan" data-downscale data-max-side="{side}">
<button>upload</button></form></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    received: list[int] = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path == "/downscale.js":
            body, kind = SCRIPT.read_bytes(), "text/javascript"
        else:
            body = PAGE.format(side=UploadRules().image_max_side).encode()
            kind = "text/html; charset=utf-8"
        self._send(body, kind)

    def do_POST(self):  # noqa: N802
        left, size = int(self.headers.get("Content-Length", 0)), 0
        while left:
            chunk = self.rfile.read(min(left, 1 << 16))
            if not chunk:
                break
            size += len(chunk)
            left -= len(chunk)
        self.received.append(size)
        self._send(b"<!doctype html><p>ok</p>", "text/html; charset=utf-8")

    def _send(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextmanager
def page_server():
    """The test page on a free loopback port; yields (base URL, the list of body sizes)."""
    received: list[int] = []
    handler = type("Handler", (_Handler,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def sent_bytes(photo: Path, chromium: str) -> int:
    """Bytes of the multipart body Chromium sends for `photo` through the downscaling form."""
    from playwright.sync_api import sync_playwright

    with page_server() as (base, received), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(base)
            page.set_input_files("input[name=scan]", str(photo))
            page.wait_for_function("!document.querySelector('form').hasAttribute('data-busy')"
                                   " && document.querySelector('.downscale small')")
            with page.expect_navigation():
                page.click("button")
        finally:
            browser.close()
    return received[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM")
                        or shutil.which("chromium") or shutil.which("chromium-browser"))
    args = parser.parse_args()
    if not args.chromium:
        sys.exit("photo_bench: no Chromium found (install chromium or pass --chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "IMG_0001.jpg"
        photo.write_bytes(paper_photo())
        original = photo.stat().st_size
        sent = sent_bytes(photo, args.chromium)
    print(f"photo {PHOTO_SIZE[0]}×{PHOTO_SIZE[1]}, {original / 1e6:.1f} MB → request body "
          f"{sent / 1e3:.0f} KB")
    figures = {"photo_10mb_sent_bytes": figure(sent, "bytes")}
    record(figures)
    show(figures)


if __name__ == "__main__":
    main()
