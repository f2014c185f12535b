"""``create_app(settings)``: the one way to build the web service.

Start-up applies the database migrations and refuses to start (``ConfigError``) without a
usable key-encryption secret, with a secret other than the one the stored keys were
encrypted with, or while any issuer signs with a published example key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from badgeworks.adapters.blobstore import open_blob_store
from badgeworks.adapters.keystore import check_secret
from badgeworks.core.errors import BadgeworksError, ConfigError
from badgeworks.db.engine import make_engine, make_session_factory
from badgeworks.db.migrate import upgrade
from badgeworks.services import workers
from badgeworks.services.context import build_context, utcnow
from badgeworks.services.infra import metrics, outbox, rate_limit
from badgeworks.services.infra.secrets import check_key_secret
from badgeworks.services.issuance import bulk_jobs
from badgeworks.services.lifecycle import status_lists
from badgeworks.services.programs.issuers import example_key_holders
from badgeworks.services.verification.pool import VerifyPool
from badgeworks.settings import Settings, get_settings
from badgeworks.web import health as probes
from badgeworks.web.api_docs import add_api_docs
from badgeworks.web.deps import check_admin_token_setting
from badgeworks.web.errors import handle_error
from badgeworks.web.headers import SecurityHeadersMiddleware
from badgeworks.web.limits import BodyLimitMiddleware, RequestGuard
from badgeworks.web.observability import RequestObservability, configure_logging
from badgeworks.web.pages import STATIC, make_environment
from badgeworks.web.routes import (
    achievements,
    audit,
    batches,
    candidates,
    console,
    credentials,
    downloads,
    home,
    issuers,
    lifecycle,
    me,
    mentors,
    oid4vci,
    oid4vp,
    portfolio,
    projects,
    public,
    review,
    status,
    vcapi,
    verifier,
)

#: Every route module, in the order their routes are matched.
ROUTE_MODULES = (
    issuers,
    achievements,
    candidates,
    projects,
    credentials,
    batches,
    audit,
    public,
    verifier,
    oid4vp,
    status,
    lifecycle,
    vcapi,
    oid4vci,
    downloads,
    portfolio,
    me,
    mentors,
    review,
    console,
    home,
)

DESCRIPTION = """
Issue signed Open Badges 3.0 credentials for finished micro-internship work.

Writes need `Authorization: Bearer <token>`; a token belongs to one issuer
(`badgeworks tokens create --issuer SLUG`). Every error has the shape
`{"ok": false, "status": 404, "code": "…", "error": "…"}`.
"""


def create_app(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """Build the app: check the secret, migrate the database, wire routes and errors."""
    admin_token = settings.admin_token.get_secret_value() if settings.admin_token else None
    check_admin_token_setting(admin_token)
    rate_limit.check_redis(settings)  # with BADGEWORKS_REDIS_URL set, Redis must answer
    open_blob_store(settings).check()  # with BADGEWORKS_STORAGE_URL set, the bucket must be usable
    secret = check_secret(settings.key_secret.get_secret_value() if settings.key_secret else None)
    engine = make_engine(settings)
    previous = (
        settings.key_secret_previous.get_secret_value() if settings.key_secret_previous else None
    )
    # Queued mail is encrypted at rest (docs/outbox.md); during a rotation of the key
    # secret, mail sealed under the previous one is read too (docs/deployment.md).
    outbox.seal_outbox(engine, secret, previous or None)
    upgrade(engine)
    session_factory = make_session_factory(engine)
    with session_factory() as session:
        try:
            check_key_secret(session, secret, now=(clock or utcnow)(), previous=previous or None)
        except ConfigError:
            engine.dispose()
            raise
        holders = example_key_holders(session)
        # A status list that disagrees with the rows is reported, not refused: verifiers
        # keep getting the signed lists until `badgeworks status repair` re-signs them.
        status_lists.warn_on_drift(session)
    if holders:
        engine.dispose()
        raise ConfigError(
            f"refusing to start: issuer(s) {', '.join(holders)} sign with an example key "
            "from keys.example/; rotate their keys first",
            code="config.example_key",
        )

    ctx = build_context(settings, session_factory, clock=clock or utcnow)
    metrics.count_commits()  # credentials and status changes, counted as they commit

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        # With BADGEWORKS_OUTBOX_INTERVAL_SECONDS > 0 and a sender, this process also
        # delivers the outbox (docs/outbox.md); several processes may, safely.
        # With dedicated job workers, they deliver it instead (services/workers.py).
        worker = (
            outbox.worker_for(settings, session_factory, ctx)
            if settings.worker_in_process
            else None
        )
        application.state.outbox_worker = worker
        if worker is not None:
            worker.start()
        # Bulk jobs whose worker died show as interrupted; resumed here only with
        # BADGEWORKS_BULK_RESUME_ON_START (docs/operations.md).
        await run_in_threadpool(bulk_jobs.on_start, session_factory, ctx)
        # One job worker in this process unless dedicated `badgeworks worker` processes
        # run the jobs (BADGEWORKS_WORKER_IN_PROCESS; docs/operations.md).
        job_worker = workers.worker(session_factory, ctx) if settings.worker_in_process else None
        application.state.job_worker = job_worker
        if job_worker is not None:
            job_worker.start()
        try:
            yield
        finally:
            if job_worker is not None:
                job_worker.stop()
                await run_in_threadpool(job_worker.join, settings.shutdown_grace_seconds + 1)
            if worker is not None:
                worker.stop()
            # Queued verifications are dropped; running ones finish on their own.
            verify_pool.shutdown()
            engine.dispose()

    app = FastAPI(
        title="badgeworks",
        version="0.1.0",
        description=DESCRIPTION,
        docs_url=None,  # served from our own files (web/api_docs.py), never a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.ctx = ctx
    # Anonymous verification runs in its own bounded pool (services/verification/pool.py).
    verify_pool = VerifyPool(settings.verify_workers, settings.verify_queue)
    app.state.verify_pool = verify_pool
    app.state.outbox_worker = None  # set on start-up (lifespan)
    app.state.job_worker = None  # set on start-up (lifespan)
    app.state.templates = make_environment()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for exc_class in (BadgeworksError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(exc_class, handle_error)
    app.add_middleware(
        BodyLimitMiddleware,
        max_json_bytes=settings.max_json_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        max_json_depth=settings.max_json_depth,
    )
    # Middleware added later runs earlier: the verifier's rate limit and body cap come
    # before the general body limit reads anything.
    app.add_middleware(
        verifier.VerifyGuard, settings=settings, session_factory=session_factory, clock=ctx.clock
    )
    app.add_middleware(
        oid4vp.WalletGuard, settings=settings, session_factory=session_factory, clock=ctx.clock
    )
    # Outside those: tokens and sessions are checked and uploads admitted before any
    # body is read (web/limits.py), and every response gets its security headers.
    app.add_middleware(RequestGuard, settings=settings)
    app.add_middleware(SecurityHeadersMiddleware)
    # Outermost: every request gets its id, access line and latency (web/observability.py).
    app.add_middleware(RequestObservability, settings=settings)
    app.include_router(probes.router)
    for module in ROUTE_MODULES:
        app.include_router(module.router)
    add_api_docs(app)

    @app.get("/api/v1/health", tags=["health"])
    async def health() -> dict[str, bool]:
        """Liveness: the app is up (and migrated, since it started)."""
        return {"ok": True}

    return app


def app_from_environment() -> FastAPI:
    """The app of one worker process of ``badgeworks serve --workers N`` (uvicorn's
    factory): its settings come from the ``BADGEWORKS_*`` environment the command set."""
    settings = get_settings()
    configure_logging(settings.log_format)
    return create_app(settings)
