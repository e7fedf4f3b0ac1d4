"""gunicorn settings of a web host (`gunicorn -c deploy/gunicorn.conf.py wsgi:app`); `make run`
and `make run-prod` use the same file. Every value can be set from the environment.

Worker class gthread: each process serves WEB_THREADS requests at once, so a client that reads
or sends slowly holds one thread, not a whole process, and the other threads and processes go on
answering everyone else (tests/test_slow_clients.py: two uploads at 25 KB/s while a login page
answers at once). A process's heartbeat comes from its main loop, not from the request a thread
is serving, so `timeout` never cuts a long transfer: a 10 MB scan sent at 200 kbps (7 minutes)
completes. Behind nginx with request and response buffering (deploy/nginx/zhicheng.conf) slow
clients never reach gunicorn at all; gthread keeps the host usable when one does (`make run`,
a direct connection, a health check that hangs)."""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('HOST', '127.0.0.1')}:"
                                      f"{os.environ.get('PORT', '8000')}")
worker_class = "gthread"
# Processes: by default 2 per core plus one, at most 8 (each holds a database pool).
workers = int(os.environ.get("WEB_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8)))
threads = int(os.environ.get("WEB_THREADS", "4"))
# A process whose main loop is silent this long (hung, not merely busy: the loop runs beside the
# threads) is replaced. It bounds no request, so a slow upload or download is never cut by it.
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
# A client that sends nothing for this long while its request body is read (a phone that lost
# its signal or a laptop gone to sleep mid-upload: such a connection is never closed) is answered
# 400 and its thread is free again; one that reads nothing of a response for as long is dropped.
# Per read, not per request: an upload that keeps moving, however slowly, is never cut. nginx's
# client_body_timeout and send_timeout are 60 s as well.
CLIENT_IDLE_SECONDS = float(os.environ.get("WEB_CLIENT_IDLE_TIMEOUT", "60"))
graceful_timeout = 30        # a deploy's TERM: requests in flight get this long to finish
keepalive = 5                # nginx keeps connections to the upstream open (keepalive 16)
# Processes are replaced now and then, so a slow leak never grows without bound.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
# The app believes X-Forwarded-For / -Proto only across TRUSTED_PROXY_HOPS proxies (ProxyFix in
# app/__init__.py); gunicorn's own forwarded_allow_ips stays at its default.
accesslog = os.environ.get("WEB_ACCESS_LOG", "-")
errorlog = os.environ.get("WEB_ERROR_LOG", "-")
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
# No preload: each process opens its own database and Redis connections after the fork.
preload_app = False
proc_name = "zhicheng-web"
# gunicorn's control socket (newer versions) defaults to one path per user, which two servers on
# one host would share: off unless WEB_CONTROL_SOCKET names a path of this server's own.
control_socket = os.environ.get("WEB_CONTROL_SOCKET", "")
control_socket_disable = not control_socket


def pre_request(worker, req):
    """The client's socket, blocking until now, waits at most CLIENT_IDLE_SECONDS per read or
    write during this request (gthread makes it non-blocking again between requests). A read
    that times out ends the body: the app answers 400 (werkzeug's ClientDisconnected)."""
    sock = getattr(req.unreader, "sock", None)
    if sock is not None and CLIENT_IDLE_SECONDS > 0:
        sock.settimeout(CLIENT_IDLE_SECONDS)
