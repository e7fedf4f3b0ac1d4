"""A file's whole history, as the offices on its route read it: every review step (who, for
which office, when, what they decided and why), every return with its items, every correction
the applicant made with what it changed, and the other recorded events (submission, deadline
closes, paper receipt...).

The review steps are the file's own rows (loaded with it); everything else is the audit trail of
the file, one query; the offices named, one more. A transition writes both a step and an audit
row at the same instant: the step is shown, its audit row is not. What a correction changed is
the difference between the snapshot taken at the return it answers and the file as it was when
the next return was made (or as it is now): between a resubmission and the next return nothing
can be edited, so that is what the applicant changed."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Application, AuditEvent, Org
from .agency import changes_since, snapshot
from .transitions import ACTION_LABELS, action_label

RETURNS = ("return", "agency_return")
CORRECTIONS = ("resubmit",)
# Recorded events that are not review steps, named as the history shows them.
for _action, _text in {"create": _l("创建申报"), "paper_received": _l("纸质材料已接收"),
                       "paper_mismatch": _l("纸质材料与网上申报不一致"),
                       "to_session": _l("编入评审会"), "session_result": _l("评审结果")}.items():
    ACTION_LABELS.setdefault(_action, _text)


def event_label(action: str):
    """An action as the history names it (a deadline close: "到期处理", its reason follows)."""
    return _l("到期处理") if action.startswith("close_") else action_label(action)


def field_label(key: str) -> str:
    """A basic-information field as the application form names it."""
    from ..applicant.forms import BasicForm
    unbound = getattr(BasicForm, key, None)
    args = getattr(unbound, "args", None)
    return str(args[0]) if args else key


@dataclass
class Event:
    at: datetime
    action: str
    who: str
    org: Org | None
    opinion: str = ""
    items: list = field(default_factory=list)
    to_state: str | None = None
    changes: dict | None = None   # a correction: what changed since the return it answers
    answers: Event | None = None  # a correction: the return it answers

    @property
    def label(self):
        return event_label(self.action)

    @property
    def is_return(self) -> bool:
        return self.action in RETURNS

    @property
    def is_correction(self) -> bool:
        return self.action in CORRECTIONS


def _events(app: Application) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.tenant_id == app.tenant_id, AuditEvent.subject_type == "applications",
        AuditEvent.subject_id == app.id).order_by(AuditEvent.at, AuditEvent.id)).all()


def of(app: Application) -> list[Event]:
    """The file's history, oldest first (two queries besides the file's own rows)."""
    steps = list(app.steps)
    audited = _events(app)
    org_ids = {s.org_id for s in steps} | {e.actor_org_id for e in audited}
    org_ids.discard(None)
    orgs = {o.id: o for o in db.session.scalars(sa.select(Org).where(
        Org.tenant_id == app.tenant_id, Org.id.in_(org_ids)))} if org_ids else {}
    # In the audit trail's order (a transition's step takes its audit row's place); steps
    # without an audit row of their own follow by time.
    by_key = {(s.at, s.action): s for s in steps}
    out, snapshots, shown = [], {}, set()
    for e in audited:
        s = by_key.get((e.at, e.action))
        if s is not None and id(s) not in shown:
            shown.add(id(s))
            out.append(_step(s, orgs, snapshots))
        else:
            # An applicant acts for themself, not for the unit their account belongs to.
            org = orgs.get(e.actor_org_id) if e.actor_role != "applicant" else None
            out.append(Event(e.at, e.action, e.actor_name, org, e.reason or "",
                             to_state=e.to_state))
    out += [_step(s, orgs, snapshots) for s in steps if id(s) not in shown]
    out.sort(key=lambda e: e.at)  # stable: ties keep the trail's order
    _corrections(app, out, snapshots)
    return out


def _step(s, orgs: dict, snapshots: dict) -> Event:
    e = Event(s.at, s.action, s.reviewer_name, orgs.get(s.org_id), s.opinion or "",
              list(s.items or []))
    snapshots[id(e)] = s.snapshot
    return e


def _corrections(app: Application, events: list[Event], snapshots: dict) -> None:
    """Tie each correction to the return it answers and to what it changed."""
    returns = [e for e in events if e.is_return]
    now = None
    for e in events:
        if not e.is_correction:
            continue
        before = [r for r in returns if r.at <= e.at]
        if not before:
            continue
        answered = before[-1]
        e.answers = answered
        was = snapshots.get(id(answered))
        if not was:
            continue
        later = [r for r in returns if r.at > e.at and snapshots.get(id(r))]
        if later:
            after = snapshots[id(later[0])]
        else:
            now = now or snapshot(app)
            after = now
        e.changes = changes_since(None, was, now=after)
        e.changes["basic"] = [field_label(k) for k in e.changes["basic"]]
