"""Recordings and minutes of a review session (AE-DUTY-1): kept so a re-check can trace it."""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from .. import uploads
from ..extensions import db
from ..models import ReviewSession, SessionFile
from .actors import Actor
from .errors import Forbidden, Invalid
from .transitions import audit

KINDS = {"recording": _l("录音录像"), "minutes": _l("会议记录")}


def add_session_file(cfg, actor: Actor, session: ReviewSession, kind: str, filename: str,
                     stream) -> SessionFile:
    if actor.org_id != session.committee.agency_org_id:
        raise Forbidden(_l("无权进行此操作。"))
    if kind not in KINDS:
        raise Invalid(_l("请选择文件类别。"))
    allowed = uploads.RECORDING_TYPES if kind == "recording" else uploads.MINUTES_TYPES
    stored, mime, size, digest = uploads.store_stream(
        cfg.slug, stream, allowed, current_app.config["MAX_RECORDING_BYTES"])
    try:
        f = SessionFile(session_id=session.id, kind=kind, filename=(filename or kind)[:200],
                        stored_name=stored, mime=mime, size=size, sha256=digest,
                        uploaded_by=actor.user_id)
        db.session.add(f)
        db.session.flush()
        audit(actor, "session_files", f.id, "upload", reason=kind)
        db.session.commit()
    except Exception:
        db.session.rollback()
        uploads.remove(cfg.slug, stored)
        raise
    return f
