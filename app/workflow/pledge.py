"""The personal integrity pledge (个人诚信承诺 / 个人承诺书) an applicant signs when submitting
(BJ-PLEDGE-1, CF-PLEDGE-1). The tenant's pledge.toml holds its version and text; a submission
records the version, the Chinese text signed, its SHA-256 and the time on the file, and the forms
print them."""
from __future__ import annotations

import hashlib
from datetime import datetime

from flask_babel import lazy_gettext as _l

from .errors import Invalid


def text_of(cfg) -> str:
    """The text signed: the Chinese paragraphs, one per line."""
    return "\n".join(cfg.pledge.text)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def require(cfg, accepted: str | None) -> None:
    """Refuse a submission whose applicant has not ticked the tenant's current pledge."""
    if cfg.pledge is None:
        return
    if not accepted:
        raise Invalid(_l("请阅读并勾选“%(t)s”后再提交：申报人须对申报材料的真实性负责并签署承诺。",
                         t=cfg.pledge.title))
    if accepted != cfg.pledge.version:
        raise Invalid(_l("“%(t)s”已更新，请重新阅读并勾选后再提交。", t=cfg.pledge.title))


def signed(cfg, accepted: str | None, now: datetime) -> dict:
    """The pledge columns a submission writes, once `require` has passed; nothing where the
    tenant has no pledge or none was given."""
    if cfg.pledge is None or not accepted:
        return {}
    require(cfg, accepted)
    text = text_of(cfg)
    return {"pledge_version": cfg.pledge.version, "pledge_text": text,
            "pledge_sha256": digest(text), "pledge_signed_at": now}


def paragraphs(app) -> list[str]:
    """The text the applicant signed, as it stays with the file."""
    return (app.pledge_text or "").split("\n") if app.pledge_text else []


def shown(cfg) -> dict | None:
    """The tenant's pledge in the reader's language, for the submit page: title, paragraphs and
    the sentence beside the box. The Chinese text is the one signed whatever the language."""
    p = cfg.pledge
    if p is None:
        return None
    from flask_babel import get_locale
    loc = get_locale()
    english = loc is not None and loc.language == "en"
    return {"version": p.version, "title": p.title_en if english else p.title,
            "text": p.text_en if english else p.text,
            "consent": p.consent_en if english else p.consent}
