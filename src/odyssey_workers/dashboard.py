"""rq-dashboard, adapted to read our JSON jobs, and guarded by basic auth when exposed.

rq-dashboard 0.9 is a Flask blueprint written for pickled jobs: it takes a serializer only for
some views (``web.config.serializer``) and builds plain ``Job``/``Queue``/``Worker`` objects in
the others, which cannot read our JSON meta. The adapter below points the blueprint's module
names at JSON-bound classes, shows ``meta["progress"]`` next to each job's name, always lists
our three queues (even before their first job), and reuses one Redis client instead of the
blueprint's client-per-request. Jobs are named by their catalog name, also those a plain RQ
producer enqueued by function path.

The blueprint's templates build the pages in inline scripts from HTML strings, so a job's data
could run as script in the operator's browser. ``dashboard_assets/`` replaces the templates and
scripts with ones that put every value in as text and keep all script in static files, and
``dashboard_guard`` adds the Content-Security-Policy, the Host allow-list and the CSRF checks.

Bound to 127.0.0.1 by default. On any other address it refuses to start unless
``DASHBOARD_USERNAME`` and ``DASHBOARD_PASSWORD`` are set, and then every request needs them.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, request
from redis import Redis
from rq import Queue, Worker
from rq.exceptions import DeserializationError, NoSuchJobError
from rq.job import Job
from rq.serializers import JSONSerializer

from odyssey_workers.connection import get_redis, redis_url
from odyssey_workers.dashboard_guard import DashboardGuard, allowed_hosts
from odyssey_workers.errors import ConfigurationError
from odyssey_workers.jobclass import CatalogJob
from odyssey_workers.progress import read_progress
from odyssey_workers.routing import queue_names
from odyssey_workers.settings import Settings, get_settings

logger = logging.getLogger(__name__)

AUTH_REALM = "odyssey-workers dashboard"
ASSETS = Path(__file__).with_name("dashboard_assets")


class DashboardQueue(Queue):
    """A queue that always speaks JSON, and ``all()`` that always includes our three queues."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["serializer"] = JSONSerializer
        kwargs["job_class"] = CatalogJob
        super().__init__(*args, **kwargs)

    @classmethod
    def all(cls, connection: Redis, *args: Any, **kwargs: Any) -> list[Queue]:
        found = {queue.name: queue for queue in super().all(connection, *args, **kwargs)}
        in_use = queue_names()
        for name in in_use:
            found.setdefault(name, cls(name, connection=connection))
        ordered = [found.pop(name) for name in in_use]
        return ordered + sorted(found.values(), key=lambda queue: queue.name)


class DashboardWorker(Worker):
    """Reads worker records (and their current job) with the JSON serializer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["serializer"] = JSONSerializer
        kwargs["job_class"] = CatalogJob
        kwargs["queue_class"] = DashboardQueue
        super().__init__(*args, **kwargs)


def display_name(job: Job) -> str:
    """The catalog name of a job running a catalog function, however it was enqueued.

    ``enqueue()`` sets the description to the catalog name; a plain RQ producer's job carries
    RQ's call string (``jobs.<domain>.<module>.<function>(asset_id=1)``) instead.
    """
    try:
        name = job.job_name if isinstance(job, CatalogJob) else None
    except DeserializationError:  # not JSON (a pickling producer): it will never run here anyway
        name = None
    return name or str(job.description or job.id)


def describe_with_progress(job: Job) -> str:
    """The job's name, then its progress (``45% · 1.2 x · 30 s left``) when it reported any."""
    description = display_name(job)
    progress = read_progress(job.meta or {})
    if not progress or "percent" not in progress:
        return description
    parts = [f"{progress['percent']}%"]
    if progress.get("speed") is not None:
        parts.append(f"{progress['speed']} x")
    if progress.get("eta_seconds") is not None:
        parts.append(f"{progress['eta_seconds']:.0f} s left")
    return f"{description} [progress {' · '.join(parts)}]"


def _requeue_json_job(job_id: str, connection: Redis, serializer: Any = None) -> Job:
    job = CatalogJob.fetch(job_id, connection=connection)
    return job.requeue()


_adapted = False


def adapt_rq_dashboard(connection: Redis) -> Any:
    """Point rq-dashboard's module-level names at JSON-reading classes; returns its blueprint."""
    global _adapted
    from rq_dashboard import web

    def shared_client(url: str, **_options: Any) -> tuple[None, Redis]:
        # The blueprint opens a new client (and pool) per request for its instance URL.
        return None, connection

    web.from_url = shared_client
    if not _adapted:
        web.config.serializer = JSONSerializer
        web.Job = CatalogJob
        web.Queue = DashboardQueue
        web.Worker = DashboardWorker
        web.requeue_job = _requeue_json_job
        web.format_job_description = describe_with_progress
        _adapted = True
    return web.blueprint


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def auth_credentials(settings: Settings) -> tuple[str, str] | None:
    """The configured (username, password), None when unset; refuses exposure without them."""
    username = settings.dashboard_username
    password = settings.dashboard_password.get_secret_value() if settings.dashboard_password else None
    if bool(username) != bool(password):
        missing = "DASHBOARD_PASSWORD" if username else "DASHBOARD_USERNAME"
        raise ConfigurationError(f"{missing}: set both DASHBOARD_USERNAME and DASHBOARD_PASSWORD, or neither")
    if not is_loopback(settings.dashboard_host) and not username:
        raise ConfigurationError(
            f"DASHBOARD_HOST is {settings.dashboard_host!r}, not a loopback address: set DASHBOARD_USERNAME and "
            "DASHBOARD_PASSWORD so the dashboard is not open to the network"
        )
    return (username, password) if username and password else None


def _basic_auth_guard(username: str, password: str) -> Any:
    expected_user, expected_password = username.encode(), password.encode()

    def require_basic_auth() -> Response | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, given = base64.b64decode(header[6:], validate=True).partition(b":")
            except (binascii.Error, ValueError):
                user, given = b"", b""
            # Both compared in constant time, so timing does not reveal which part was wrong.
            user_ok = hmac.compare_digest(user, expected_user)
            password_ok = hmac.compare_digest(given, expected_password)
            if user_ok and password_ok:
                return None
        return Response("authentication required\n", 401, {"WWW-Authenticate": f'Basic realm="{AUTH_REALM}"'})

    return require_basic_auth


def _no_such_job(_error: NoSuchJobError) -> Response:
    # rq-dashboard lets the exception through as a 500 with a traceback in the log.
    job_id = (request.view_args or {}).get("job_id", "")
    return Response(f"no such job {job_id!r} (deleted, or its result expired)\n", 404, mimetype="text/plain")


def create_app(settings: Settings | None = None, connection: Redis | None = None) -> Flask:
    """The dashboard as a Flask app (checks the auth rule first)."""
    settings = settings or get_settings()
    credentials = auth_credentials(settings)
    connection = connection or get_redis(settings)
    blueprint = adapt_rq_dashboard(connection)
    # The blueprint's static files are also the app's: mounted without a URL prefix, the
    # blueprint's /static route would otherwise be shadowed by the app's own (empty) one.
    # The app's own templates come first, so ours replace the blueprint's of the same name.
    app = Flask(
        "odyssey_workers.dashboard",
        static_folder=str(Path(blueprint.root_path) / "static"),
        template_folder=str(ASSETS / "templates"),
    )
    app.config["RQ_DASHBOARD_REDIS_URL"] = (redis_url(settings),)
    app.config["RQ_DASHBOARD_POLL_INTERVAL"] = 2500
    app.redis_conn = connection  # type: ignore[attr-defined]  # where the blueprint looks for it
    if credentials:
        app.before_request(_basic_auth_guard(*credentials))
    app.register_blueprint(blueprint, url_prefix="")
    assets = Blueprint("odyssey_dashboard", __name__, static_folder=ASSETS / "static", static_url_path="/assets")
    app.register_blueprint(assets)
    app.register_error_handler(NoSuchJobError, _no_such_job)
    DashboardGuard(allowed_hosts(settings.dashboard_host, settings.dashboard_allowed_hosts)).install(app)
    return app


def serve_dashboard(settings: Settings | None = None, port: int | None = None) -> None:
    """Serve the dashboard until the process is stopped (threaded werkzeug server)."""
    from werkzeug.serving import make_server

    settings = settings or get_settings()
    app = create_app(settings)
    server = make_server(settings.dashboard_host, port or settings.dashboard_port, app, threaded=True)
    # One line per request at INFO would drown the service log; errors still show.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logger.info("dashboard on http://%s:%s/", settings.dashboard_host, server.server_port)
    server.serve_forever()
