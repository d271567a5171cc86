"""The app factory: routes over a running ``TriuneRuntime`` (see ADR 0012 for the choices).

Everything but ``/healthz`` (and ``/metrics`` unless ``protect_metrics``) needs the bearer token
of ``EMILY_HOME/api-token``; the live console's page at ``/`` is public and static, and its data
(``/console/frame``, ``/console/stream``) needs the token too (``emily.runtime.console``).
Handlers are plain ``def``: FastAPI runs them on its thread pool, so a reflex answer never
blocks the event loop, and the runtime is already thread-safe.

Every refusal is ``{"detail": "<one line>"}``: 400 for domain errors, 422 for a request that does
not fit the schema (``invalid request: body.percent: Input should be a finite number``: where,
then what is wrong and expected). The 422 line never echoes the input, which may be a value no
encoder can write (``NaN``, a lone surrogate): ``StrictJsonRoute`` refuses those before any
handler runs, and ``printable`` escapes any that reach a message.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from emily import __version__
from emily.core import BusyError, Clock, EmilyError, InputError, SovereignModel
from emily.core.settings import EmilySettings
from emily.ops.flags import FlagSpec, FlagStore, flags_path
from emily.runtime.api.auth import BearerAuth, ensure_token
from emily.runtime.api.limits import MAX_BODY_BYTES, BodySizeLimit
from emily.runtime.api.models import (
    MAX_BATCH,
    AlertmanagerNotification,
    BatchAnswers,
    Diagnostics,
    ErrorBody,
    FlagsView,
    FlagUpdate,
    Health,
    Hypotheses,
    LatencySummary,
    Readiness,
    RemediationLogView,
    RemediationRecord,
    StateView,
    StimulusBatch,
    TransitionView,
    WebhookResult,
)
from emily.runtime.api.offline_docs import install_offline_docs
from emily.runtime.api.remediation import (
    AlreadyRevertedError,
    NotFoundError,
    Remediator,
    log_path,
)
from emily.runtime.api.strict_json import StrictJsonRoute, printable
from emily.runtime.console.options import ConsoleOptions
from emily.runtime.loop import Answer, TriuneRuntime
from emily.runtime.stimuli import Stimulus

ReadinessCheck = Callable[[], str | None]
"""Returns ``None`` when fine, else what is wrong (shown by ``/readyz``)."""

_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "The request was understood but refused."},
    401: {"model": ErrorBody, "description": "Missing or wrong bearer token."},
    413: {"model": ErrorBody, "description": "The body is over the size limit."},
    422: {"model": ErrorBody, "description": "The request does not fit the schema."},
    503: {"model": ErrorBody, "description": "Busy: nothing changed; retry after Retry-After s."},
}

BUSY_RETRY_AFTER_S = 1
"""What a 503 for a busy resource tells the client to wait (``Retry-After``): a write takes ms."""

_SHOWN_ERRORS = 10
"""A 422 names this many problems (pydantic reports every one) and counts the rest."""


def validation_message(errors: Sequence[Any]) -> str:
    """One line for a ``RequestValidationError``: where and what, per problem; never the input
    (it may not be encodable, and a secret or a megabyte of it does not belong in a reply)."""
    parts = []
    for error in errors[:_SHOWN_ERRORS]:
        where = ".".join(str(part) for part in error.get("loc", ())) or "request"
        what = str(error.get("msg", "invalid"))
        cause = error.get("ctx", {}).get("error") if error.get("type") == "json_invalid" else None
        parts.append(f"{where}: {what}" + (f" ({cause})" if isinstance(cause, str) else ""))
    more = len(errors) - _SHOWN_ERRORS
    line = "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
    return printable(f"invalid request: {line}").replace("\n", " ")


class ApiOptions(SovereignModel):
    """How the API is exposed."""

    protect_metrics: bool = False
    """Require the token for ``/metrics`` too (Prometheus then needs ``credentials_file``)."""
    max_body_bytes: int = MAX_BODY_BYTES
    max_batch: int = MAX_BATCH
    console: ConsoleOptions = ConsoleOptions()
    """The live console at ``/``: its update rate, oscillator window and viewer limit."""


def default_readiness(runtime: TriuneRuntime, settings: EmilySettings) -> dict[str, ReadinessCheck]:
    """Checks ``/readyz`` runs: the home folder is writable and the reflex store answers."""

    def home() -> str | None:
        home = settings.home
        if home.is_dir() and os.access(home, os.W_OK):
            return None
        return f"{home} is not a writable folder"

    def reflex_store() -> str | None:
        import lancedb  # the reflexes' durable store; imported late, as builder does

        uri = settings.lancedb_uri or str(settings.path("lancedb"))
        try:
            lancedb.connect(uri).list_tables()
            len(runtime.reflexes)
        except Exception as exc:  # any failure means not ready; the reason is reported
            return f"reflex store at {uri} failed: {type(exc).__name__}: {exc}"
        return None

    return {"home": home, "reflex_store": reflex_store}


def create_app(
    runtime: TriuneRuntime,
    settings: EmilySettings,
    *,
    clock: Clock,
    options: ApiOptions | None = None,
    token: str | None = None,
    flags: FlagStore | None = None,
    remediator: Remediator | None = None,
    readiness: dict[str, ReadinessCheck] | None = None,
) -> FastAPI:
    """Build the API over ``runtime``.

    Args:
        runtime: the running loop (the caller closes it).
        settings: where EMILY_HOME is (token, flags, remediation log).
        clock: timestamps of remediation records (temporal lock).
        options: exposure and limits.
        token: the bearer token; default: ``ensure_token(settings.home)``.
        flags: the flag store; default: ``EMILY_HOME/flags.yaml``.
        remediator: default: one over the runtime's regulator and attention.
        readiness: ``/readyz`` checks; default: ``default_readiness``.
    """
    options = options or ApiOptions()
    bearer = BearerAuth(token if token is not None else ensure_token(settings.home))
    auth = Depends(bearer)
    store = flags or FlagStore(flags_path(settings), clock=clock)
    remedy = remediator or Remediator(
        regulator=runtime.regulator,
        attention=runtime.attention,
        counter=runtime.metrics.remediations,
        log=log_path(settings.home),
        clock=clock,
    )
    checks = readiness if readiness is not None else default_readiness(runtime, settings)
    app = FastAPI(
        title="Emily Sovereign",
        version=__version__,
        description="Feed stimuli to the triune loop, read its state, act on alerts.",
        docs_url=None,  # FastAPI's pages load Swagger UI and ReDoc from a CDN: served locally below
        redoc_url=None,
    )
    install_offline_docs(app)
    app.add_middleware(BodySizeLimit, limit=options.max_body_bytes)

    @app.exception_handler(EmilyError)
    async def _emily_error(request: Request, exc: EmilyError) -> JSONResponse:
        return JSONResponse({"detail": printable(str(exc))}, status_code=400)

    @app.exception_handler(BusyError)
    async def _busy(request: Request, exc: BusyError) -> JSONResponse:
        return JSONResponse(
            {"detail": printable(str(exc))},
            status_code=503,
            headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_message(exc.errors())}, status_code=422)

    open_routes = APIRouter(tags=["operations"], route_class=StrictJsonRoute)
    protected = APIRouter(dependencies=[auth], responses=_ERRORS, route_class=StrictJsonRoute)
    metrics_router = protected if options.protect_metrics else open_routes

    @open_routes.get("/healthz")
    def healthz() -> Health:
        """Liveness: the process serves requests."""
        return Health(status="ok")

    @metrics_router.get("/metrics", response_class=Response)
    def metrics() -> Response:
        """The runtime's metrics in Prometheus text format."""
        alpha = runtime.attention.diagnostics()
        runtime.metrics.alpha_power.set(alpha.effective_power)
        runtime.metrics.alpha_drift.set(alpha.frequency_drift_hz)
        return Response(
            runtime.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    @protected.get("/readyz", responses={503: {"model": Readiness}})
    def readyz() -> JSONResponse:
        """Ready when the runtime is built and its stores answer (503 and the reasons if not)."""
        results = {name: check() or "ok" for name, check in checks.items()}
        ready = all(v == "ok" for v in results.values())
        body = Readiness(ready=ready, checks=results)
        return JSONResponse(body.model_dump(), status_code=200 if ready else 503)

    @protected.post("/stimuli", tags=["runtime"])
    def stimulus(body: Stimulus) -> Answer:
        """Answer one stimulus on the reflex path."""
        # Validate before the gate: a suppressed stimulus is never encoded, and a malformed one
        # must be refused whatever the alpha phase happens to be when it arrives.
        body = runtime.conform(body)
        runtime.encoder.encode(body.payload)
        return runtime.handle(body)

    @protected.post("/stimuli/batch", tags=["runtime"])
    def stimuli(body: StimulusBatch) -> BatchAnswers:
        """Answer several stimuli in order (all are validated before the first is handled)."""
        if len(body.stimuli) > options.max_batch:
            raise InputError(
                f"{len(body.stimuli)} stimuli in one batch; at most {options.max_batch} allowed"
            )
        batch = []
        for index, item in enumerate(body.stimuli):  # all or nothing: check before handling
            try:
                batch.append(runtime.conform(item))
                runtime.encoder.encode(batch[-1].payload)
            except EmilyError as exc:
                raise InputError(f"stimuli[{index}] (id {item.id!r}): {exc}") from None
        return BatchAnswers(answers=runtime.handle_many(batch))

    @protected.get("/hypotheses", tags=["runtime"])
    def hypotheses() -> Hypotheses:
        """The latest hypothesis batches from cognition, oldest first."""
        return Hypotheses(batches=list(runtime.hypotheses))

    @protected.get("/state", tags=["runtime"])
    def state() -> StateView:
        """Regulator state, tier counts, latency percentiles and alpha diagnostics."""
        tiers, latencies, _ = runtime.snapshot()
        return StateView(
            regulator=runtime.regulator.status(),
            tiers=tiers,
            latency=_summary(latencies),
            alpha=runtime.attention.diagnostics(),
            teacher=runtime.teacher.status(),
        )

    @protected.get("/diagnostics", tags=["runtime"])
    def diagnostics() -> Diagnostics:
        """Alpha, regulator, recent transitions, reflexes, cognition and flag health."""
        worker = runtime.cognition
        return Diagnostics(
            version=__version__,
            alpha=runtime.attention.diagnostics(),
            regulator=runtime.regulator.status(),
            recent_transitions=[
                TransitionView(
                    from_state=str(t.from_state),
                    to_state=str(t.to_state),
                    reason=t.reason,
                    time_s=t.time_s,
                )
                for t in runtime.regulator.transitions()[-20:]
            ],
            reflexes=len(runtime.reflexes),
            lessons_learned=runtime.teacher.learned,
            cognition_enabled=worker is not None,
            cognition_failures=worker.failures if worker else 0,
            cognition_last_error=worker.last_error if worker else None,
            flags_error=store.last_error,
            active_remediations=len(remedy.active()),
        )

    @protected.get("/flags", tags=["flags"])
    def get_flags() -> FlagsView:
        """The feature flags in force (``EMILY_HOME/flags.yaml``, or the defaults)."""
        return FlagsView(flags=dict(store.flags().flags), error=store.last_error)

    @protected.put("/flags/{name}", tags=["flags"])
    def put_flag(
        name: Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")],
        body: FlagUpdate,
    ) -> FlagSpec:
        """Set a flag's default variant, or roll a variant out to ``percent`` of keys."""
        return store.set_variant(name, body.variant, percent=body.percent, enabled=body.enabled)

    @protected.post("/remediation/alertmanager", tags=["remediation"])
    def alertmanager(body: AlertmanagerNotification) -> WebhookResult:
        """Alertmanager's webhook (payload v4): act on each alert's ``remediation`` label."""
        return remedy.handle(body)

    @protected.get("/remediation", tags=["remediation"])
    def remediation_log() -> RemediationLogView:
        """Every remediation record, oldest first, and the ids still in force."""
        return RemediationLogView(records=remedy.records(), active=[r.id for r in remedy.active()])

    @protected.post(
        "/remediation/{action_id}/revert",
        tags=["remediation"],
        responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
    )
    def revert(
        action_id: Annotated[str, Path(min_length=1, max_length=64)], request: Request
    ) -> RemediationRecord:
        """Revert one action that is in force, putting its previous value back."""
        who = f"api ({request.client.host if request.client else 'unknown'})"
        try:
            return remedy.revert(action_id, who)
        except NotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        except AlreadyRevertedError as exc:
            raise HTTPException(409, str(exc)) from None

    app.include_router(open_routes)
    app.include_router(protected)
    # Imported here: the console's frame imports this package's models, so importing
    # ``emily.runtime.console`` first would otherwise meet this module half-initialised.
    from emily.runtime.console.hub import ConsoleHub
    from emily.runtime.console.stream import console_router

    hub = ConsoleHub(
        runtime,
        clock=clock,
        options=options.console,
        remediation=lambda: (remedy.records(), [r.id for r in remedy.active()]),
    )
    app.include_router(console_router(hub, bearer))
    return app


def _summary(latencies: list[float]) -> LatencySummary:
    if not latencies:
        return LatencySummary(count=0, p50_s=None, p90_s=None, p99_s=None, max_s=None)
    p50, p90, p99 = (float(v) for v in np.percentile(latencies, [50, 90, 99]))
    return LatencySummary(
        count=len(latencies), p50_s=p50, p90_s=p90, p99_s=p99, max_s=float(max(latencies))
    )
