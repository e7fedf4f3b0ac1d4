"""Office lists drawn once and shown again until anything in the database changes.

A clerk goes from the list to a file and back, pages forward and back, reloads: most views of an
office list show exactly what the last one showed. Drawing it costs a count per status, a page
of rows with their people and units, and fifty formatted rows; showing a kept copy costs no
statement and, once the worker follows the counters (below), no round trip to Redis either.

Correctness rests on one counter, the *data generation*: every transaction that writes through
one of the app's engines (ORM flushes, set-based updates, raw statements, jobs and CLI commands
alike) raises it in Redis once it has committed. A kept page is shown only while the generation
is the one read before it was drawn, so a page drawn before a change is never shown after it.
Everything else a page is made from is in its key: the address with its arguments, the user and
their session's CSRF token (the page carries it), the language, the display modes, the date
(countdowns, "overdue"), the tenant's config and the htmx request headers. A page with a flash
message to show is drawn, not kept. Copies live in each web worker's memory only (they hold
names; nothing is written to Redis or to disk), at most PAGE_CACHE_MB per worker, and at most
PAGE_CACHE_SECONDS old, which also bounds what a lost Redis write could leave behind. With
Redis unreachable every page is drawn.

Each web worker follows the counters through a Redis subscription (_Watcher): every raise is
announced with its new value, atomically with the raise, and the worker keeps a copy, so it
knows the generation without asking. The copy is used only while the subscription answers its
pings. An announcement arrives a moment after the commit; so that a user never misses their own
change on another worker, their session notes the value their write raised the counter to, and
their requests ask Redis until the worker's copy has caught up with it. A kept page is compressed
once per algorithm a browser asks for (CompressedCopies, flask-compress's cache) and its
compressed bytes are what a later view sends.

The same counters keep the signed-in user's row (and their office's) between requests: a request
whose user has not changed since the last one reads no row to know who it is. A kept page is
found by the last before_request hook (serve_kept), before the user is loaded at all: the page
was drawn for this session's user under the same generation, so what let them see it still
holds; every check of the session (active, its epoch, its age, its tenant) runs again on each
request, against the kept row. The rate limiter passes over such a view (_unlimited) only if no
limit counted it when it was drawn. The navigation a user is offered (which
depends on their office, the year's plans and the org tree) is kept the same way."""
from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
from cachetools import LRUCache
from flask import (
    Flask, Response, current_app, g, has_app_context, has_request_context, request, session,
)
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.util import identity_key
from werkzeug.http import parse_accept_header

from .extensions import db, limiter

log = logging.getLogger(__name__)

# Statements that change no row; anything else (WITH … UPDATE included) counts as a write.
_READS = ("SELECT", "PRAGMA", "SHOW", "SET ", "SAVEPOINT", "RELEASE", "BEGIN", "EXPLAIN")
# Writes to the audit trail alone: nothing kept is drawn from it (a file's history page, which
# reads it, is always drawn), so a refused request's audit row or a seal leaves kept pages alone.
# A statement that moves files and audits them (WITH … UPDATE applications … INSERT INTO
# audit_events) starts with its UPDATE or WITH and still counts.
_AUDIT_ONLY = ("INSERT INTO audit_events ", "UPDATE audit_events ", "UPDATE audit_chain_heads ",
               "INSERT INTO audit_chain_heads ")
ANY_TENANT = "*"  # a write outside a tenant's request (a job over every tenant, the CLI)
_clients: dict[str, Redis] = {}
_warned = -1e9


def _redis(url: str) -> Redis:
    """One client (and connection pool) per Redis URL and process; redis-py renews the pool
    after a fork."""
    if url not in _clients:
        _clients[url] = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return _clients[url]


def counter_key(database_url: str, scope) -> str:
    """The Redis key of one counter: per database (two instances sharing a Redis, or the test
    databases of parallel workers, do not disturb each other) and per tenant (a write in one
    tenant leaves the other tenants' kept pages alone)."""
    db = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return f"zhicheng:data-generation:{db}:{scope}"


def _start() -> int:
    """Where a missing counter starts (a new Redis, or one restarted empty): at random, so a
    page kept under an old count is not taken for current when the count starts over."""
    return secrets.randbits(50)  # Lua (the raise) counts exactly up to 2**53


# Raise each counter (made first where it is missing) and announce its new value, atomically:
# the announcements reach every subscriber in the order the counters were raised. A counter made
# afresh (a new or emptied Redis) starts at random, so its value is announced as a restart ("R"):
# taken even where it is lower than the value it replaces.
_RAISE = """
local values = {}
for i, key in ipairs(KEYS) do
  local made = redis.call('SET', key, ARGV[i], 'NX')
  values[i] = redis.call('INCR', key)
  if values[i] > 9007199254740000 then  -- past what Lua counts exactly: start over
    redis.call('SET', key, ARGV[i])
    values[i], made = tonumber(ARGV[i]), true
  end
  redis.call('PUBLISH', ARGV[#KEYS + 1],
            key .. ' ' .. string.format('%d', values[i]) .. (made and ' R' or ''))
end
return values
"""
# Read the counters, making (and announcing) any that is missing.
_READ = """
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, ARGV[i], 'NX') then
    redis.call('PUBLISH', ARGV[#KEYS + 1], key .. ' ' .. ARGV[i] .. ' R')
  end
end
return redis.call('MGET', unpack(KEYS))
"""
CHANNEL = "zhicheng:data-generation"
MARK = "_dg"  # the session's note of what its own writes raised the counters to


def _bump(url: str, keys) -> dict[str, bytes]:
    """Raise the counters; their new values (empty when Redis did not answer)."""
    watcher = _watchers.get((url, os.getpid()))  # a web worker's (jobs and commands have none)
    epoch = watcher.epoch if watcher is not None else None  # a drop meanwhile voids the values
    try:
        raised = _redis(url).eval(_RAISE, len(keys), *keys, *(_start() for _ in keys), CHANNEL)
    except (RedisError, OSError) as e:  # kept pages still expire after PAGE_CACHE_SECONDS
        global _warned
        if time.monotonic() - _warned > 60:  # once a minute, not once per commit
            _warned = time.monotonic()
            log.warning("data generation not raised (Redis unreachable): %s", e)
        return {}
    values = {key: str(value).encode() for key, value in zip(keys, raised)}
    if watcher is not None:
        watcher.seed(values, epoch)
    return values


class _Watcher:
    """This process's copy of the counters, kept current by a subscription to their
    announcements, so a request learns the generation without a round trip to Redis.

    A counter only grows, but for a restart, which is announced as one: a value lower than the
    copy's is an announcement overtaken by a newer value (one this process raised, or read), and
    is passed over. The copy is used only while the subscription is known to be alive: it is
    dropped, and requests go back to reading Redis, when the connection fails or a ping goes
    unanswered; a value read before a drop is not taken after it. An announcement is applied a
    moment after the write committed; a request of the user who wrote is checked against Redis
    until it has been (the session notes the value, MARK)."""

    PING_EVERY, DEAD_AFTER = 2.0, 5.0

    def __init__(self, url: str):
        self.url = url
        self.values: dict[str, bytes] = {}
        self.epoch = 0  # subscriptions made: a value read under an earlier one is not taken
        self.ready = False
        self.name = f"zhicheng-watcher-{os.getpid()}"  # its connection, in CLIENT LIST
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="pagecache-watcher", daemon=True)
        self.thread.start()

    def get(self, keys) -> tuple | None:
        with self.lock:
            if not self.ready:
                return None
            values = tuple(self.values.get(k) for k in keys)
        return None if None in values else values

    def seed(self, values: dict, epoch: int, restart: bool = False) -> None:
        """Take values read or raised under subscription `epoch` where they are newer."""
        with self.lock:
            if not self.ready or self.epoch != epoch:
                return
            for key, value in values.items():
                held = self.values.get(key)
                if value is not None and (restart or held is None or int(value) > int(held)):
                    self.values[key] = value

    def _drop(self, ready: bool) -> None:
        with self.lock:
            self.values.clear()
            self.epoch += 1
            self.ready = ready

    def _run(self) -> None:
        while True:
            pubsub = None
            try:
                conn = Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=5,
                                      client_name=self.name)
                pubsub = conn.pubsub()
                pubsub.subscribe(CHANNEL)
                heard = pinged = time.monotonic()
                while True:
                    message = pubsub.get_message(timeout=self.PING_EVERY / 2)
                    now = time.monotonic()
                    if message is not None:
                        heard = now
                        if message["type"] == "subscribe":
                            self._drop(ready=True)
                        elif message["type"] == "message":
                            key, value, *restart = message["data"].split(b" ")
                            self.seed({key.decode(): value}, self.epoch, bool(restart))
                    if now - heard > self.DEAD_AFTER:
                        raise TimeoutError("no answer on the subscription")
                    if now - pinged > self.PING_EVERY:
                        pubsub.ping()
                        pinged = now
            except Exception:  # noqa: BLE001 - any failure: back to reading Redis, then retry
                self._drop(ready=False)
                time.sleep(0.5)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:  # noqa: BLE001
                        pass


_watchers: dict[tuple[str, int], _Watcher] = {}
_watchers_lock = threading.Lock()


def _watcher(url: str) -> _Watcher:
    """The process's watcher of the counters at `url` (a forked worker starts its own)."""
    key = (url, os.getpid())
    found = _watchers.get(key)
    if found is None:
        with _watchers_lock:
            found = _watchers.get(key) or _watchers.setdefault(key, _Watcher(url))
    return found


def _database(engine: sa.engine.Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _forget_generation() -> None:
    """A write this request committed makes the generation it read earlier out of date."""
    if has_app_context():
        g.pop("pagecache_generation", None)


def _scope():
    """The tenant a write belongs to: the tenant of the request or job that makes it, when it
    has one."""
    tenant_id = g.get("tenant_id") if has_app_context() else None
    return tenant_id if isinstance(tenant_id, int) else ANY_TENANT


def watch(engine: sa.engine.Engine, redis_url: str) -> None:
    """Raise the data generation after every committed transaction that wrote through
    `engine`. The commit event comes before the commit itself, so the raise waits for the
    connection's next transaction or its return to the pool, both after the commit."""
    database = _database(engine)

    def flush(info, *marks: str) -> None:
        scopes = set().union(*(info.pop(mark, ()) for mark in marks))
        if scopes:
            raised = _bump(redis_url, [counter_key(database, scope) for scope in scopes])
            _forget_generation()
            if raised and has_request_context():  # read-your-writes on any worker (MARK)
                noted = dict(session.get(MARK) or {})
                noted.update({str(scope): int(raised[counter_key(database, scope)])
                              for scope in scopes})
                session[MARK] = noted

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _statement(conn, cursor, statement, parameters, context, executemany):
        text = statement.lstrip()
        if not (text[:9].upper().startswith(_READS) or text.startswith(_AUDIT_ONLY)):
            conn.info.setdefault("pagecache_wrote", set()).add(_scope())

    @sa.event.listens_for(engine, "commit")
    def _commit(conn):
        wrote = conn.info.pop("pagecache_wrote", None)
        if wrote:
            conn.info.setdefault("pagecache_committed", set()).update(wrote)
            _forget_generation()

    @sa.event.listens_for(engine, "rollback")
    def _rollback(conn):
        conn.info.pop("pagecache_wrote", None)

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        flush(conn.info, "pagecache_committed")

    @sa.event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection, record):
        # Written and committed, or written outside a transaction (autocommit): raise it now.
        flush(record.info, "pagecache_committed", "pagecache_wrote")


def raise_generation(app: Flask | None = None) -> None:
    """For changes made outside the engine (a restore that replaces the database)."""
    app = app or current_app
    _bump(app.config["REDIS_URL"],
          [counter_key(_database(engine), ANY_TENANT) for engine in db.engines.values()])


def _behind(values: tuple, scopes: tuple) -> bool:
    """Whether the worker's copy is older than what this session's own writes raised."""
    noted = session.get(MARK)
    if not isinstance(noted, dict):
        return False
    return any(int(value) < noted.get(str(scope), -1) for value, scope in zip(values, scopes))


@dataclass
class Kept:
    generation: tuple
    at: float
    tenant: object      # the tenant config the page was drawn with (a reload makes a new one)
    body: object        # a page's bytes, or a remembered value
    headers: tuple = ()
    copy: str = ""      # a kept page's own name, for its compressed bytes (CompressedCopies)

    def fresh(self, generation: tuple, max_age: float) -> bool:
        """Made under this generation and tenant config, at most `max_age` seconds ago."""
        return (self.generation == generation and self.tenant is g.tenant
                and time.monotonic() - self.at <= max_age)


class PageCache:
    def __init__(self, app: Flask, database_url: str):
        self.redis_url = app.config["REDIS_URL"]
        self.database = database_url
        self.max_age = app.config["PAGE_CACHE_SECONDS"]
        self.follow = app.config["PAGE_CACHE_FOLLOW"]  # the counters by subscription (_Watcher)
        self.pages = LRUCache(maxsize=app.config["PAGE_CACHE_MB"] * 1024 * 1024,
                              getsizeof=lambda kept: len(kept.body) + 512)
        self.values = LRUCache(maxsize=8192)  # remember(): users, navigation
        # Kept pages compressed for the browsers that asked (br, gzip): by copy and algorithm.
        self.compressed = LRUCache(maxsize=app.config["PAGE_CACHE_MB"] * 1024 * 1024 // 4,
                                   getsizeof=len)
        self.lock = threading.Lock()  # gthread workers serve several requests at once
        self.endpoints: set[str] = set()  # the views that have kept a page (serve_kept)
        self.retry_at = 0.0

    def generation(self) -> tuple | None:
        """The counters of every tenant's writes and of this tenant's: from the worker's copy
        (_Watcher), or else in one round trip, read once per request until the request itself
        commits a write. None (draw the page, read
        the user) outside a tenant, when Redis does not answer, and for a few seconds after it
        did not, so an unreachable Redis does not add its timeout to every view."""
        if "pagecache_generation" in g:
            return g.pagecache_generation
        if not isinstance(g.get("tenant_id"), int) or time.monotonic() < self.retry_at:
            return None
        keys = [counter_key(self.database, ANY_TENANT), counter_key(self.database, g.tenant_id)]
        watcher = _watcher(self.redis_url) if self.follow else None
        local = watcher.get(keys) if watcher is not None else None
        if local is not None and not _behind(local, (ANY_TENANT, g.tenant_id)):
            g.pagecache_generation = local
            return local
        epoch = watcher.epoch if watcher is not None else None
        try:
            conn = _redis(self.redis_url)
            current = conn.mget(keys)
            if None in current:
                current = conn.eval(_READ, len(keys), *keys, *(_start() for _ in keys), CHANNEL)
        except (RedisError, OSError):
            self.retry_at = time.monotonic() + 5
            return None
        if watcher is not None:
            watcher.seed(dict(zip(keys, current)), epoch)
        g.pagecache_generation = tuple(current)
        return g.pagecache_generation

    def get(self, key, generation: tuple) -> Kept | None:
        with self.lock:
            kept = self.pages.get(key)
        return kept if kept is not None and kept.fresh(generation, self.max_age) else None

    def put(self, key, kept: Kept) -> None:
        if len(kept.body) + 512 > self.pages.maxsize:
            return
        with self.lock:
            self.pages[key] = kept
            # serve_kept finds copies of views whose GET no rate limit counted (the limiter
            # then has nothing to do for them: _unlimited).
            if not limiter.current_limits:
                self.endpoints.add(request.endpoint)

    def recall(self, key: tuple, generation: tuple):
        """What remember() keeps under `key` in this tenant for this generation, or None."""
        with self.lock:
            kept = self.values.get((g.tenant_id, *key))
        return kept.body if kept is not None and kept.fresh(generation, self.max_age) else None

    def remember(self, key: tuple, compute: Callable[[], object]):
        """What `compute()` gives, or what it gave for the same key in this tenant when nothing
        has been written since (and at most PAGE_CACHE_SECONDS ago). The value is shared by
        the requests that get it: only for values nobody changes."""
        generation = self.generation()
        if generation is None:
            return compute()
        key = (g.tenant_id, *key)
        with self.lock:
            kept = self.values.get(key)
        if kept is not None and kept.fresh(generation, self.max_age):
            return kept.body
        value = compute()
        with self.lock:
            self.values[key] = Kept(generation, time.monotonic(), g.tenant, value)
        return value

    def user(self, model, user_id: int, load: Callable[[], object]):
        """The signed-in user with their office: made from the row kept at the last request
        when nothing has been written since, else read by `load` (and kept)."""
        loaded = []

        def rows():
            loaded.append(load())
            return _rows(loaded[0]) if loaded[0] is not None else None
        kept = self.remember(("user", user_id), rows)
        if loaded:
            return loaded[0]
        return _revive(model, kept) if kept is not None else None


# Columns a kept user leaves behind: read from the database when a request needs them.
_NOT_KEPT = frozenset({"password_hash", "setup_token_hash"})


def _copy(value):
    # JSON lists and dicts are copied: a request changing one in place changes only its own.
    return copy.deepcopy(value) if isinstance(value, (list, dict)) else value


def _columns(obj) -> dict:
    state = obj.__dict__
    return {a.key: _copy(state[a.key]) for a in sa.inspect(type(obj)).column_attrs
            if a.key in state and a.key not in _NOT_KEPT}


def _rows(user) -> tuple:
    """What is kept of a loaded user: their columns and their office's (when loaded)."""
    org = user.__dict__.get("org")
    return (_columns(user), _columns(org) if org is not None else None)


def _persistent(model, columns: dict):
    """An instance of `model` in this request's session, as if just read with these columns,
    without a statement: the one already in the session, or one made from a copy of them."""
    mapper = sa.inspect(model)
    present = db.session.identity_map.get(
        identity_key(model, tuple(columns[c.key] for c in mapper.primary_key)))
    if present is not None:
        return present
    obj = mapper.class_manager.new_instance()
    # Straight into the instance's state; make_transient_to_detached then marks every value
    # as loaded from the database (nothing to flush) and the rest as not loaded yet.
    obj.__dict__.update({key: _copy(value) for key, value in columns.items()})
    return obj


def _revive(model, rows: tuple):
    user_columns, org_columns = rows
    user = _persistent(model, user_columns)
    if sa.inspect(user).persistent:
        return user
    if org_columns is not None:
        org = _persistent(sa.inspect(model).relationships["org"].mapper.class_, org_columns)
        if not sa.inspect(org).persistent:
            make_transient_to_detached(org)
        user.__dict__["org"] = org
    make_transient_to_detached(user)
    db.session.add(user)  # and the office with it (save-update cascade)
    return user


def init_app(app: Flask, engines: dict) -> None:
    if app.config["PAGE_CACHE_MB"] <= 0:
        return
    for engine in engines.values():
        watch(engine, app.config["REDIS_URL"])
    # The lists read the default engine: its counters are the ones a kept page is checked by.
    app.extensions["pagecache"] = PageCache(app, _database(engines[None]))
    app.before_request(serve_kept)  # after every other app-level hook (app/__init__.py)


# The htmx request headers a page depends on, as WSGI environ keys.
_HX_HEADERS = ("HTTP_HX_REQUEST", "HTTP_HX_BOOSTED", "HTTP_HX_HISTORY_RESTORE_REQUEST",
               "HTTP_HX_TARGET", "HTTP_HX_TRIGGER")


def _key(user_id: str | None) -> tuple | None:
    from flask_wtf.csrf import generate_csrf

    from .web import display_modes, select_locale
    from .workflow.calendar import today_local
    if "_flashes" in session:
        return None
    if "csrf_token" not in session:
        generate_csrf()  # the session's token exists before the key names it
    token = session.get("csrf_token")
    if not token:
        return None
    environ = request.environ
    # The language as the app's locale selector chooses it (what get_locale() would parse).
    return (request.path, request.query_string, user_id,
            hashlib.sha256(str(token).encode()).digest(), select_locale(),
            tuple(display_modes()), today_local(), tuple(environ.get(h, "") for h in _HX_HEADERS))


def _shown(cache: PageCache, kept: Kept) -> Response:
    """The kept copy as a response; already compressed if it was for this browser before
    (flask-compress leaves an encoded response alone, and compresses and keeps it otherwise)."""
    g.pagecache_copy = kept.copy
    from .extensions import compress
    algorithm = _encoding(request.environ.get("HTTP_ACCEPT_ENCODING", ""),
                          tuple(compress.enabled_algorithms))
    body = None
    if algorithm is not None:
        with cache.lock:
            body = cache.compressed.get(f"{algorithm};{kept.copy}")
    resp = current_app.response_class(kept.body if body is None else body,
                                      headers=list(kept.headers))
    if body is not None:
        resp.headers["Content-Encoding"] = algorithm
    resp.headers["X-Page-Cache"] = "hit"
    return resp


@functools.lru_cache(maxsize=64)
def _encoding(accept_encoding: str, algorithms: tuple[str, ...]) -> str | None:
    """The first of the server's `algorithms` the browser accepts most, as flask-compress
    chooses (and names its cache's keys); a few distinct headers are seen, each parsed once."""
    return parse_accept_header(accept_encoding).best_match(algorithms)


@limiter.request_filter
def _unlimited() -> bool:
    """The rate limiter's request filter: a GET of a view a copy was kept for, which no limit
    counted when it was drawn (PageCache.put), is not looked at again."""
    cache: PageCache | None = current_app.extensions.get("pagecache")
    return (cache is not None and request.method == "GET"
            and request.endpoint in cache.endpoints)


def kept_page(draw: Callable[[], Response]) -> Response:
    """The page `draw` makes, or the copy kept from the last time it was drawn with nothing
    changed since. Only 200 answers with a body are kept."""
    from flask_login import current_user
    cache: PageCache | None = current_app.extensions.get("pagecache")
    if cache is None or request.method != "GET":
        return draw()
    generation = cache.generation()
    key = _key(current_user.get_id()) if generation is not None else None
    if key is None:
        return draw()
    kept = cache.get(key, generation)
    if kept is not None:
        return _shown(cache, kept)
    resp = draw()
    if resp.status_code == 200 and not resp.is_streamed and "_flashes" not in session:
        keep = tuple((k, v) for k, v in resp.headers.items()
                     if k in ("Content-Type", "Vary", "HX-Push-Url"))
        g.pagecache_copy = str(next(_copies))
        cache.put(key, Kept(generation, time.monotonic(), g.tenant, resp.get_data(), keep,
                            g.pagecache_copy))
    return resp


def serve_kept() -> Response | None:
    """The kept copy of a page, found before the user is loaded (the last of the app's
    before_request hooks: the rate limits, the idle timeout and the request checks have run).

    A copy exists only for a page its view drew for this session's user (the key names the
    user, the session's CSRF token, the address...), under the generation that is still
    current: nothing has been written since, so the user's role, office and account are what
    they were when the view let them see it. What the session itself decides is checked again,
    as the user loader does (app/web.py): the account kept with the copy is in this tenant,
    active, of the session's epoch, and the session within its absolute lifetime. Anything
    else (no copy, another endpoint, session protection asking for more) goes the usual way:
    the user loaded, the blueprint's checks, the view."""
    from .extensions import login
    from .web import session_current_for
    cache: PageCache | None = current_app.extensions.get("pagecache")
    if (cache is None or request.method != "GET" or request.endpoint not in cache.endpoints
            or "_login_user" in g):
        return None
    user_id = session.get("_user_id")
    if not isinstance(user_id, str) or not user_id.isdigit():
        return None
    generation = cache.generation()
    if generation is None:
        return None
    rows = cache.recall(("user", int(user_id)), generation)
    if rows is None:
        return None
    user = rows[0]
    if (user.get("tenant_id") != g.get("tenant_id")
            or not session_current_for(user.get("active"), user.get("session_epoch"))
            or login._session_protection_failed()):
        return None
    key = _key(user_id)
    kept = cache.get(key, generation) if key is not None else None
    return _shown(cache, kept) if kept is not None else None


_copies = itertools.count(1)


class CompressedCopies:
    """flask-compress's cache (COMPRESS_CACHE_BACKEND, keyed by `compressed_key`): a kept page
    is compressed once per algorithm, then its compressed bytes go out with every view of the
    copy. Compressing a list costs a few times what showing the kept copy does. A page that is
    not a kept copy has no name (its key ends in ";") and is compressed each time it is sent."""

    @staticmethod
    def _cache(key: str) -> PageCache | None:
        if key.endswith(";") or not has_app_context():
            return None
        return current_app.extensions.get("pagecache")

    def get(self, key: str) -> bytes | None:
        if (cache := self._cache(key)) is None:
            return None
        with cache.lock:
            return cache.compressed.get(key)

    def set(self, key: str, value: bytes) -> None:
        if (cache := self._cache(key)) is not None and len(value) <= cache.compressed.maxsize:
            with cache.lock:
                cache.compressed[key] = value


def compressed_key(_request) -> str:
    """The kept copy this response is (COMPRESS_CACHE_KEY), or "" for any other response."""
    return g.get("pagecache_copy", "")
