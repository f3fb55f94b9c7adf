"""The production HTTP server: gunicorn through its application API, with Plumb's JSON logs (its access line
without query strings and with the request id), no version banner, and problem details for what gunicorn refuses
before the app sees a request (a request line or header too large: 414, 431). SIGTERM is gunicorn's own graceful
stop: workers finish the requests in flight (up to the graceful timeout) and the master exits 0."""
import logging
from typing import Callable

import gunicorn.http.wsgi
import gunicorn.util
import gunicorn.workers.base
from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from backend.web.logs import ENVIRON_KEY, log_access
from backend.web.security import problem_bytes

SERVER_NAME = "Plumb"


class JsonGunicornLogger(Logger):
    """gunicorn's logger, writing through the root logger's one JSON handler (backend.web.logs) instead of its
    own text handlers, and its access line in the same form as the development server's."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)
            log.propagate = True

    def access(self, resp, req, environ, request_time):
        # `status` is "414 URI Too Long" on gunicorn's own error answers too, where `status_code` is never set.
        log_access(req.method, req.path, int(str(resp.status).split()[0]), environ.get(ENVIRON_KEY),
                   request_time.total_seconds() * 1000, environ.get("REMOTE_ADDR"))


def _write_problem(sock, status_int, reason, mesg):
    """gunicorn's error page (util.write_error), as problem details: the API has one error shape."""
    body, rid = problem_bytes(status_int, reason, reason if status_int >= 500 else (mesg or reason))
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n"
            f"Content-Length: {len(body)}\r\nX-Request-Id: {rid}\r\nX-Content-Type-Options: nosniff\r\n\r\n")
    gunicorn.util.write_nonblock(sock, head.encode("latin1") + body)


def _plumb_flavour_of_gunicorn() -> None:
    # gunicorn has no setting for either: its banner is a module constant read per response, and its error page
    # a module function; both are replaced in this process only (the one `plumb serve` runs).
    gunicorn.http.wsgi.SERVER = SERVER_NAME
    gunicorn.util.write_error = _write_problem
    gunicorn.workers.base.util.write_error = _write_problem


class GunicornServer(BaseApplication):
    """gunicorn serving the app that `app_factory` builds in each worker (after the fork, so no worker shares a
    database connection with another). `on_worker_start(app)` runs in each worker once its app is built and may
    return a function that `on_worker_exit` calls (the embedded default starts and stops the worker loops there)."""

    def __init__(self, app_factory: Callable[[], Flask], options: dict,
                 on_worker_start: Callable[[Flask], Callable[[], None] | None] | None = None):
        self.app_factory, self.options, self.on_worker_start = app_factory, options, on_worker_start
        self._app: Flask | None = None
        self._stop: Callable[[], None] | None = None
        super().__init__()

    def load_config(self):
        _plumb_flavour_of_gunicorn()
        settings = {"worker_class": "gthread", "logger_class": JsonGunicornLogger, "accesslog": "-",
                    "post_worker_init": self._post_worker_init, "worker_exit": self._worker_exit,
                    # Its control socket sits at one path per user: two servers on a machine would fight over it.
                    "control_socket_disable": True,
                    **self.options}
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        if self._app is None:
            self._app = self.app_factory()
        return self._app

    def _post_worker_init(self, worker):
        if self.on_worker_start is not None:
            self._stop = self.on_worker_start(self.load())
        logging.getLogger(__name__).info("worker %s serving", worker.pid)

    def _worker_exit(self, _arbiter, _worker):
        if self._stop is not None:
            self._stop()
