"""Office lists kept in memory (app/pagecache.py): a repeat view is the kept copy, and any
committed write through the app (ORM, set-based update, raw statement, another connection) makes
the next view draw the list again; what the key holds (user, language, date, htmx headers) keeps
copies apart; a flash, a lost or restarted Redis, or age means drawing."""
from __future__ import annotations

import gzip
import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from flask import g
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Application, User
from app.tenancy import tenant_scope

from . import factories as f
from .conftest import PASSWORD, at, build_app
from .test_batch import RECOMMEND_DAY, _recommend_batch, _signin, employer  # noqa: F401
from .test_inbox_views import NAMES, TODAY, office  # noqa: F401  (the fixtures)

LIST = "/beijing/office/"


def _get(client, url=LIST, **headers):
    resp = client.get(url, headers=headers)
    assert resp.status_code == 200
    return resp


def _kept(resp) -> bool:
    return resp.headers.get("X-Page-Cache") == "hit"


def _signed_in_and_kept(login, client) -> None:
    """The Beijing clerk signed in, the list drawn once and then shown as kept."""
    login("beijing", "clerk")
    _get(client)
    assert _kept(_get(client))


def test_a_repeat_view_is_the_kept_copy(client, login, office):
    with time_machine.travel(at(*TODAY), tick=False):
        login("beijing", "clerk")
        first = _get(client)
        again = _get(client)
        other_filter = _get(client, LIST + "?level=intermediate")
    assert not _kept(first) and _kept(again) and not _kept(other_filter)
    assert again.get_data() == first.get_data()
    assert again.headers["Content-Type"].startswith("text/html")
    # The signed-in page's own headers come with the copy as with the drawn page.
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert again.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
    # The copy carries the session's own CSRF token, which still signs a post.
    assert re.search(r'name="csrf_token" value="[^"]+"', again.get_data(as_text=True))


def test_a_committed_orm_change_draws_the_list_again(client, login, office, app):
    with time_machine.travel(at(*TODAY), tick=False):
        _signed_in_and_kept(login, client)
        with app.app_context():
            a = db.session.get(Application, office["ids"][5])
            db.session.get(User, a.applicant_id).name = "欧阳修"
            db.session.commit()
        after = _get(client)
    assert not _kept(after)
    html = after.get_data(as_text=True)
    assert "欧阳修" in html and NAMES[5] not in html


def test_a_set_based_update_and_a_raw_statement_draw_it_again(client, login, office, app):
    with app.app_context():
        applicant = db.session.get(Application, office["ids"][4]).applicant_id
    with time_machine.travel(at(*TODAY), tick=False):
        _signed_in_and_kept(login, client)
        with app.app_context():
            db.session.execute(sa.update(User).where(User.id == applicant)
                               .values(name="欧阳修"))
            db.session.commit()
        first = _get(client)
        assert _kept(_get(client))
        with app.app_context(), db.engine.begin() as conn:  # a connection of its own, Core
            conn.execute(sa.text("UPDATE users SET name = :n WHERE id = :i"),
                         {"n": "司马光", "i": applicant})
        second = _get(client)
    assert not _kept(first) and "欧阳修" in first.get_data(as_text=True)
    assert not _kept(second) and "司马光" in second.get_data(as_text=True)
    assert "欧阳修" not in second.get_data(as_text=True)


def test_a_rolled_back_write_keeps_the_copy(client, login, office, app):
    with time_machine.travel(at(*TODAY), tick=False):
        login("beijing", "clerk")
        _get(client)
        with app.app_context():
            db.session.execute(sa.update(Application).values(status="withdrawn"))
            db.session.rollback()
        assert _kept(_get(client))


def _listed(resp) -> set[int]:
    """The files on the list (their selection boxes), not the handled ones below it."""
    return {int(i) for i in re.findall(r'name="ids" value="(\d+)"', resp.get_data(as_text=True))}


def test_the_clerks_batch_and_its_undo_show_on_the_next_view(app, login, employer):
    """Through the routes and the transition service: after a batch recommend the files leave
    the list at once; after the undo they are back."""
    client = _signin(login, "beijing", employer["clerk"])
    ids = set(employer["ok"])
    with time_machine.travel(RECOMMEND_DAY, tick=False):
        _get(client)
        before = _get(client)
        assert _kept(before) and ids <= _listed(before)
    batch_id, _versions = _recommend_batch(app, client, employer)
    with time_machine.travel(RECOMMEND_DAY, tick=False):
        _get(client)  # the batch's flash
        after = _get(client)
        assert not (ids & _listed(after)) and _listed(after) == _listed(before) - ids
        assert _kept(_get(client))
    with time_machine.travel(RECOMMEND_DAY + timedelta(minutes=5), tick=False):
        assert client.post(f"/beijing/office/batch/{batch_id}/undo").status_code == 303
        _get(client)  # the undo's flash
        back = _get(client)
    assert ids <= _listed(back)


def test_the_key_keeps_users_languages_dates_and_htmx_apart(client, login, office, app):
    with app.app_context():
        f.make_user("beijing", "clerk2", "employer_clerk", "emp")
        db.session.commit()
    with time_machine.travel(at(*TODAY), tick=False):
        _signed_in_and_kept(login, client)
        fragment = _get(client, HX_Request="true")
        assert not _kept(fragment) and fragment.get_data(as_text=True).startswith('<div id="list"')
        assert _kept(_get(client, HX_Request="true"))
        english = _get(client, LIST + "?lang=en")
        assert not _kept(english)
        assert not _kept(_get(client))  # now in English: the English page, drawn once
        assert "Applicant" in _get(client).get_data(as_text=True)
        other = app.test_client()
        other.post("/beijing/login", data={"username": "clerk2", "password": PASSWORD})
        assert not _kept(_get(other))
    # Past midnight the countdowns are a day shorter: drawn again.
    with time_machine.travel(at(2026, 7, 20, 23, 59), tick=False):
        other = app.test_client()
        other.post("/beijing/login", data={"username": "clerk2", "password": PASSWORD})
        _get(other)
        assert _kept(_get(other))
    with time_machine.travel(at(2026, 7, 21, 0, 1), tick=False):
        nextday = _get(other)
    assert not _kept(nextday)


def test_a_flash_to_show_is_drawn_not_kept(client, login, office):
    with time_machine.travel(at(*TODAY), tick=False):
        _signed_in_and_kept(login, client)
        with client.session_transaction() as s:
            s["_flashes"] = [("success", "已推荐 3 件")]
        flashed = _get(client)
        after = _get(client)
    assert not _kept(flashed) and "已推荐 3 件" in flashed.get_data(as_text=True)
    assert "已推荐 3 件" not in after.get_data(as_text=True)


def _watcher(app):
    """The test process's copy of the counters, once its subscription is up."""
    from app.pagecache import _watcher as watcher_of
    watcher = watcher_of(app.config["REDIS_URL"])
    _until(lambda: watcher.ready, "the subscription is not up")
    return watcher


def _until(check, what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def _counters(app) -> list[str]:
    from app.pagecache import ANY_TENANT, counter_key
    with app.app_context():
        database = db.engine.url.render_as_string(hide_password=True)
        return [counter_key(database, ANY_TENANT), counter_key(database, f.tenant_id("beijing"))]


def test_a_restarted_redis_does_not_revive_old_copies(client, login, office, app, redis_conn):
    keys = _counters(app)
    with time_machine.travel(at(*TODAY), tick=False):
        _signed_in_and_kept(login, client)
        watcher = _watcher(app)
        epoch = watcher.epoch
        # Redis restarted empty: the counters are gone and so is the subscription (only this
        # process's is cut: other test workers share the Redis).
        redis_conn.delete(*keys)
        mine = [c["id"] for c in redis_conn.client_list() if c["name"] == watcher.name]
        assert mine
        for client_id in mine:
            redis_conn.client_kill_filter(_id=client_id)
        # Dropped, then subscribed again.
        _until(lambda: watcher.ready and watcher.epoch >= epoch + 2, "not subscribed again")
        # The counters start again, elsewhere: the old copy is not taken for current.
        assert not _kept(_get(client))
        assert _kept(_get(client))
        assert {bytes(v) for v in redis_conn.mget(keys)} == set(watcher.get(keys))


def test_counters_emptied_while_redis_runs_start_over_at_the_next_write(
        client, login, office, app, redis_conn):
    """Nothing changed when the counters were removed: the copy stays good until a write,
    whose counter starts at random and is announced as a restart, lower or not."""
    keys = _counters(app)
    with app.app_context():
        applicant = db.session.get(Application, office["ids"][3]).applicant_id
    with time_machine.travel(at(*TODAY), tick=False):
        _signed_in_and_kept(login, client)
        watcher = _watcher(app)
        redis_conn.delete(*keys)
        assert _kept(_get(client))
        with app.app_context(), tenant_scope("beijing"):
            db.session.execute(sa.update(User).where(User.id == applicant).values(name="苏轼"))
            db.session.commit()
        # Only the tenant's counter started over (the other stays removed until its next write).
        _until(lambda: watcher.get(keys)[1] == redis_conn.get(keys[1]),
               "the restarted counter was not taken")
        after = _get(client)
        assert not _kept(after) and "苏轼" in after.get_data(as_text=True)
        assert _kept(_get(client))


def test_a_write_of_another_process_reaches_this_one_by_announcement(
        client, login, office, app, redis_conn):
    """Another worker (or a job) raises the counter: this process hears of it and draws the
    list again without having read the counter from Redis."""
    from app.pagecache import _RAISE, CHANNEL
    keys = _counters(app)
    with time_machine.travel(at(*TODAY), tick=False):
        _signed_in_and_kept(login, client)
        watcher = _watcher(app)
        before = watcher.get(keys)
        redis_conn.eval(_RAISE, 1, keys[1], 1, CHANNEL)  # as another process's commit does
        _until(lambda: watcher.get(keys) != before, "the announcement did not arrive")
        reads = []
        real_mget = redis_conn.__class__.mget
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(redis_conn.__class__, "mget",
                       lambda self, *a, **k: reads.append(a) or real_mget(self, *a, **k))
            assert not _kept(_get(client))
            assert _kept(_get(client))
        assert reads == []  # the generation came from the copy


def test_without_following_each_view_reads_the_counters(client, login, office, app, redis_conn):
    """PAGE_CACHE_FOLLOW off (a Redis without scripts' announcements, say): pages are still
    kept, and each view reads the counters from Redis."""
    app.extensions["pagecache"].follow = False
    reads = []
    real_mget = redis_conn.__class__.mget
    with time_machine.travel(at(*TODAY), tick=False), pytest.MonkeyPatch.context() as mp:
        mp.setattr(redis_conn.__class__, "mget",
                   lambda self, *a, **k: reads.append(a) or real_mget(self, *a, **k))
        _signed_in_and_kept(login, client)
        before = len(reads)
        assert _kept(_get(client))
    assert len(reads) == before + 1


def test_a_user_sees_their_own_write_before_the_announcement_arrives(app, login, employer,
                                                                      monkeypatch):
    """The worker's copy lags (frozen here): the clerk's batch is on another worker's record
    only. Their session notes the value their write raised the counter to, so their next view
    asks Redis, and the files have left the list."""
    from app.pagecache import MARK, _Watcher
    client = _signin(login, "beijing", employer["clerk"])
    ids = set(employer["ok"])
    with time_machine.travel(RECOMMEND_DAY, tick=False):
        _get(client)
        _watcher(app)
        assert _kept(_get(client)) and ids <= _listed(_get(client))
    monkeypatch.setattr(_Watcher, "seed", lambda *a, **k: None)  # hears and keeps nothing new
    _recommend_batch(app, client, employer)
    with time_machine.travel(RECOMMEND_DAY, tick=False):
        with client.session_transaction() as s:
            noted = s[MARK]
        assert noted and all(isinstance(v, int) for v in noted.values())
        _get(client)  # the batch's flash
        after = _get(client)
        assert not (ids & _listed(after))
        assert _kept(_get(client))  # kept again, under the generation read from Redis


def test_a_write_in_another_tenant_leaves_the_page_kept(client, login, office, app):
    """The Chifeng employer's clerk works; the Beijing clerk's list stays kept. A write made
    outside any tenant (a job, the CLI) is drawn again for everyone."""
    with app.app_context():
        f.make_user("chifeng", "cf-clerk", "employer_clerk", "cf-emp")
        db.session.commit()
    with time_machine.travel(at(*TODAY), tick=False):
        _signed_in_and_kept(login, client)
        other = app.test_client()
        assert other.post("/chifeng/login", data={"username": "cf-clerk",
                                                  "password": PASSWORD}).status_code == 303
        assert _kept(_get(client))
        with app.app_context():
            db.session.execute(sa.update(User).where(User.username == "cf-clerk")
                               .values(name="赤峰办事员"))
            db.session.commit()
        assert not _kept(_get(client))


def test_without_redis_or_with_no_room_every_page_is_drawn(tmp_path, database_url):
    for n, overrides in enumerate(({"REDIS_URL": "redis://127.0.0.1:9/0"},
                                   {"PAGE_CACHE_SECONDS": -1}, {"PAGE_CACHE_MB": 0})):
        app = build_app(database_url or f"sqlite:///{tmp_path / f'p{n}.db'}", tmp_path,
                        **overrides)
        with app.app_context():
            f.make_employer("beijing", "emp", "haidian", name="海淀精密机械厂")
            f.make_user("beijing", "clerk", "employer_clerk", "emp")
            db.session.commit()
        client = app.test_client()
        client.post("/beijing/login", data={"username": "clerk", "password": PASSWORD})
        views = [_get(client) for _ in range(3)]
        assert not any(_kept(v) for v in views), overrides
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _statements(app, request):
    """The SQL statements `request()` sends."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine
    listener = lambda conn, cursor, statement, *rest: seen.append(statement)  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        request()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    return seen


def test_a_kept_view_reads_nothing_and_the_user_is_read_again_after_a_write(
        client, login, office, app):
    """Who is signed in is kept like the pages: a repeat view sends no statement at all. Any
    write reads the user again, so every check of the session sees the row as it is now."""
    with app.app_context():
        clerk = db.session.scalar(sa.select(User.id).filter_by(username="clerk"))
    with time_machine.travel(at(*TODAY), tick=False):
        _signed_in_and_kept(login, client)
        assert _statements(app, lambda: _kept(_get(client)) or pytest.fail("drawn")) == []
        me = _statements(app, lambda: _get(client, "/beijing/home"))
        assert not any("FROM users" in s and "users.id = " in s for s in me)
        with app.app_context():
            db.session.execute(sa.update(User).where(User.id == clerk).values(name="范仲淹"))
            db.session.commit()
        seen: list = []
        me = _statements(app, lambda: seen.append(_get(client, "/beijing/home")))
        assert any("FROM users" in s for s in me)
        assert "范仲淹" in seen[0].get_data(as_text=True)
        with app.app_context():
            db.session.execute(sa.update(User).where(User.id == clerk).values(active=False))
            db.session.commit()
        resp = client.get(LIST)
    assert resp.status_code == 302 and "/beijing/login" in resp.location


def test_a_kept_user_is_a_copy_each_request_changes_on_its_own(app, office):
    """A JSON list changed in place by one request is not what the next request sees, and the
    secrets of the row are not kept: they are read when a request needs them."""
    from app.pagecache import _NOT_KEPT
    cache = app.extensions["pagecache"]
    with app.app_context():
        clerk = db.session.scalar(sa.select(User).filter_by(username="clerk"))
        user_id, tenant_id, series = clerk.id, clerk.tenant_id, list(clerk.org.series)
        password_hash = clerk.password_hash
        db.session.remove()

    def request_user():
        assert g.tenant_id == tenant_id
        return cache.user(User, user_id, lambda: db.session.get(
            User, user_id, options=[joinedload(User.org)]))
    with app.test_request_context("/beijing/me/"), tenant_scope("beijing"):
        request_user().org.series.append("changed in place")  # read from the database, kept
        db.session.rollback()
    for _ in range(2):
        with app.test_request_context("/beijing/me/"), tenant_scope("beijing"):
            user = request_user()
            assert user.org.series == series
            assert not _NOT_KEPT & set(user.__dict__)
            user.org.series.append("changed in place")
            assert user.password_hash == password_hash  # read on demand
            db.session.rollback()


def test_the_navigation_is_kept_until_a_write_changes_what_it_offers(client, login, office, app):
    """The header's entries read the year's plans (paper receipts are offered where a plan
    reviews on paper): kept between views, offered the moment a plan changes."""
    from app.models import Plan
    from app.workflow.paper import PAPER_MODES
    receipts = "/beijing/paper/receive"
    with time_machine.travel(at(*TODAY), tick=False):
        login("beijing", "clerk")
        views: list = []
        first = _statements(app, lambda: views.append(_get(client, "/beijing/home")))
        again = _statements(app, lambda: _get(client, "/beijing/home"))
        modes = "SELECT plans.review_mode, plans.mode_rules"  # the navigation's own read
        assert any(modes in s for s in first) and not any(modes in s for s in again)
        assert receipts not in views[0].get_data(as_text=True)
        with app.app_context():
            db.session.execute(sa.update(Plan).where(Plan.tenant_id == f.tenant_id("beijing"))
                               .values(review_mode=PAPER_MODES[1]))
            db.session.commit()
        after = _get(client, "/beijing/home")
    assert receipts in after.get_data(as_text=True)


def test_a_refused_request_audits_and_leaves_the_page_kept(client, login, office, app):
    """A refusal's audit row (and its seal) is a write to the audit trail alone: no kept page is
    drawn from it, so the clerk's list stays kept; the row is there all the same."""
    from app.models import AuditEvent
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "access_not_found"))
    with time_machine.travel(at(*TODAY), tick=False):
        _signed_in_and_kept(login, client)
        assert client.get("/beijing/office/applications/987654").status_code == 404
        assert _kept(_get(client))
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "access_not_found").order_by(AuditEvent.id)).all()
    assert len(rows) == before + 1
    assert rows[-1].seq is not None and "/beijing/office/applications/987654" in rows[-1].reason


def test_a_kept_page_is_compressed_once_per_algorithm(client, login, office, monkeypatch):
    """Browsers ask for br or gzip: a kept copy's compressed bytes are made on its first view
    and sent again after; a page that is not kept is compressed every time it is sent."""
    import brotli
    import flask_compress.flask_compress as fc
    made = []
    real = fc._compress_data
    monkeypatch.setattr(fc, "_compress_data",
                        lambda app, data, algorithm: made.append(algorithm) or real(
                            app, data, algorithm))
    with time_machine.travel(at(*TODAY), tick=False):
        login("beijing", "clerk")
        plain = _get(client).get_data()
        views = [_get(client, **{"Accept-Encoding": "br, gzip"}) for _ in range(3)]
        zipped = [_get(client, **{"Accept-Encoding": "gzip"}) for _ in range(2)]
        other = [_get(client, "/beijing/password", **{"Accept-Encoding": "br"})
                 for _ in range(2)]
    assert all(_kept(r) and r.headers["Content-Encoding"] == "br" for r in views)
    assert all(brotli.decompress(r.get_data()) == plain for r in views)
    assert all(r.headers["Content-Encoding"] == "gzip" for r in zipped)
    assert all(gzip.decompress(r.get_data()) == plain for r in zipped)
    assert all(r.headers["Content-Encoding"] == "br" for r in other)
    # One br and one gzip for the kept list, and the password page each of its two times.
    assert made == ["br", "gzip", "br", "br"]


def test_a_kept_copy_is_found_before_the_user_is_loaded(client, login, office, app, monkeypatch):
    """A repeat view is answered by the last before_request hook, after the rate limits, the
    idle timeout and the request checks: no user is loaded (no ORM object made), no blueprint
    check or view runs."""
    from app import pagecache
    assert app.before_request_funcs[None][-1] is pagecache.serve_kept
    with time_machine.travel(at(*TODAY), tick=False):
        _signed_in_and_kept(login, client)

        def refuse(*args, **kwargs):
            raise AssertionError("the user was loaded for a kept copy")
        monkeypatch.setattr(pagecache.PageCache, "user", refuse)
        monkeypatch.setattr(pagecache, "kept_page", refuse)
        resp = _get(client)
        # Pages that keep nothing still load the user the usual way.
        with pytest.raises(AssertionError, match="was loaded"):
            client.get("/beijing/home")
    assert _kept(resp)


@pytest.mark.parametrize("change", ["signed_in_long_ago", "other_epoch"])
def test_a_kept_copy_is_shown_only_to_a_session_the_user_loader_accepts(
        client, login, office, app, change):
    """What the session itself decides is checked again before a copy is shown: its absolute
    lifetime and its epoch (every session of the account ended since). Either goes the usual
    way instead: to the sign-in page."""
    from app.web import SESSION_EPOCH, SESSION_SIGNED_IN
    with time_machine.travel(at(*TODAY), tick=False):
        _signed_in_and_kept(login, client)
        with client.session_transaction() as s:
            if change == "signed_in_long_ago":
                s[SESSION_SIGNED_IN] -= int(
                    app.config["SESSION_ABSOLUTE_LIFETIME"].total_seconds()) + 1
            else:
                s[SESSION_EPOCH] = (s[SESSION_EPOCH] or 0) + 1
        resp = client.get(LIST)
    assert not _kept(resp)
    assert resp.status_code == 302 and "/beijing/login" in resp.location


def test_the_rate_limiter_passes_over_only_views_no_limit_counted(client, login, office, app,
                                                                  monkeypatch):
    """The limiter skips a GET of a view a copy was kept for: no limit counted it when it was
    drawn. A view a limit did count is never skipped (nor answered before the user is
    loaded): its copies are shown by the view itself."""
    from app import pagecache
    from app.extensions import limiter
    cache = app.extensions["pagecache"]
    with time_machine.travel(at(*TODAY), tick=False):
        _signed_in_and_kept(login, client)
    endpoint = next(iter(cache.endpoints))
    with app.test_request_context(LIST):
        assert pagecache._unlimited()
    with app.test_request_context(LIST, method="POST"):
        assert not pagecache._unlimited()
    with app.test_request_context("/beijing/home"):
        assert not pagecache._unlimited()

    cache.endpoints.clear()
    monkeypatch.setattr(type(limiter), "current_limits", property(lambda self: ["counted"]))
    with time_machine.travel(at(*TODAY), tick=False):
        _get(client, LIST + "?level=intermediate")
        assert _kept(_get(client, LIST + "?level=intermediate"))
    assert endpoint not in cache.endpoints
    with app.test_request_context(LIST):
        assert not pagecache._unlimited()
