"""The defense notice (答辩通知书) as a PDF, rendered by WeasyPrint from an HTML template."""
from __future__ import annotations

from flask import render_template
from flask_babel import force_locale

from ..workflow import defense


def _no_fetch(url: str, *args, **kwargs):
    # The template needs no outside resource; refuse any, whatever the user-entered text says.
    raise ValueError(f"external resources are not loaded in notices: {url}")


def notice_pdf(cfg, assignment) -> bytes:
    """The notice in the default language, with a CJK font embedded."""
    from weasyprint import HTML  # heavy; imported only when a notice is rendered

    with force_locale("zh_Hans_CN"):
        html = render_template("defense/notice.html", **defense.notice(cfg, assignment))
    return HTML(string=html, url_fetcher=_no_fetch).write_pdf()
