"""The sales cockpit: FastAPI server with server-rendered pages (Jinja2) and the JSON API under them.

Reads only the newest published warehouse snapshot (lodestar.readpath), so it never holds the pipeline's DuckDB
file; the one write, saving a named scenario, goes to the warehouse through ml.scenario's writer in one short
transaction and then publishes a fresh snapshot. Every page and API call resolves the signed-in principal and
cuts the data to it on the server (lodestar.cockpit.data).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import duckdb
import plotly
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from lodestar import currency
from lodestar.cockpit import data
from lodestar.cockpit.auth import COOKIE, Session, SessionStore
from lodestar.cockpit.forecast import ForecastCache
from lodestar.cockpit.i18n import LANGS, LEVER_NAMES_ZH, reason_column_labels, translator
from lodestar.cockpit.users import Principal, verify_password
from lodestar.readpath import NoSnapshotError, current_snapshot, publish_derived, snapshot_dir
from lodestar.settings import get_settings
from lodestar.warehouse import Warehouse
from ml.levers import SPECS, LeverError, Levers, spec_table
from ml.scenario import ScenarioError

HERE = Path(__file__).resolve().parent
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
SAVE_WAIT_SECONDS = 10.0  # how long a save waits for a pipeline writer before answering 503
SCENARIO_NAME = re.compile(r"^[\w\-. ]{1,64}$")
PAGES = ("levers", "lights", "matrix", "customers", "csg", "reconciliation", "efficiency")
# A URL that names its content (?v=<hash>) never changes: the browser keeps it a year without asking again.
IMMUTABLE = "public, max-age=31536000, immutable"


class AssetFiles(StaticFiles):
    """The cockpit's own CSS and JS: immutable when asked for by a versioned URL (what ``asset`` in the templates
    writes), else revalidated by ETag on every use."""

    def file_response(self, full_path, stat_result, scope, status_code=200):
        resp = super().file_response(full_path, stat_result, scope, status_code)
        resp.headers["Cache-Control"] = IMMUTABLE if b"v=" in scope.get("query_string", b"") else "no-cache"
        return resp


def _asset_versions() -> dict[str, str]:
    """Content hash of every static file, for the versioned URLs (computed once at start)."""
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest()[:12] for f in (HERE / "static").iterdir() if f.is_file()}


class _GzippedFile:
    """A large file compressed once, on first use (plotly.min.js: 4.8 MB, 1.4 MB as gzip)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._body: bytes | None = None

    def body(self) -> bytes:
        with self._lock:
            if self._body is None:
                self._body = gzip.compress(self.path.read_bytes(), compresslevel=6, mtime=0)
            return self._body


class CockpitError(Exception):
    """An error for the user: ``status`` for the API, ``field`` the input it is about."""

    def __init__(self, status: int, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field, self.headers = status, message, field, headers


class State:
    """The server's shared state: the open snapshot reader (swapped when a newer snapshot is published), the
    prepared scenario engine, the sessions."""

    def __init__(self, snapshots: Path, warehouse_path: Path) -> None:
        self.snapshots = snapshots
        self.warehouse_path = warehouse_path
        self.sessions = SessionStore()
        self.forecast = ForecastCache()
        self._reader: data.Reader | None = None
        self._lock = threading.Lock()
        self.save_lock = threading.Lock()

    def reader(self) -> data.Reader:
        snap = current_snapshot(self.snapshots)
        with self._lock:
            if self._reader is None or self._reader.snapshot.snapshot_id != snap.snapshot_id:
                old, self._reader = self._reader, data.Reader(snap)
                # Prepare the scenario engine for the new snapshot now, so the first lever change after a run
                # does not pay for it.
                threading.Thread(target=self._prewarm, args=(snap,), daemon=True).start()
                if old is not None:
                    # In-flight requests keep their cursors; a closed connection only refuses new ones, so close
                    # the old reader a little later instead of under their feet.
                    threading.Timer(30.0, old.close).start()
            return self._reader

    def _prewarm(self, snap) -> None:
        try:
            self.forecast.get(snap.snapshot_id, snap.warehouse())
        except Exception:  # noqa: BLE001 - no forecast in this snapshot yet: the levers page says so on use
            pass


# ------------------------------------------------------------------------------------------------ models
class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class ForecastIn(BaseModel):
    levers: dict[str, Any] = Field(default_factory=dict, description="lever -> value; unset levers keep their default")


class ScenarioIn(BaseModel):
    name: str = Field(min_length=1, max_length=64, description="scenario name (letters, digits, - _ . space)")
    levers: dict[str, Any] = Field(default_factory=dict)


def _levers(overrides: dict[str, Any]) -> Levers:
    """Validated levers; an unknown lever or a value outside its range is a 422 naming the lever and its range,
    raised before anything reaches the engine."""
    for name in overrides:
        if name not in SPECS:
            raise CockpitError(422, f"unknown lever {name!r}", field=f"levers.{name}")
    try:
        return Levers.with_overrides(overrides)
    except LeverError as exc:
        bad = next((n for n in overrides if re.search(rf"\b{re.escape(n)}\b", str(exc))), None)
        raise CockpitError(422, str(exc), field=f"levers.{bad}" if bad else "levers") from None


def _session(request: Request) -> Session | None:
    state: State = request.app.state.cockpit
    token = request.cookies.get(COOKIE)
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
    return state.sessions.get(token)


def api_principal(request: Request) -> Principal:
    """The signed-in principal of an API call (401 otherwise)."""
    s = _session(request)
    if s is None:
        raise HTTPException(401, detail=[{"field": None, "message": "sign in first (POST /api/login)"}],
                            headers={"WWW-Authenticate": "Bearer"})
    return s.principal


Who = Annotated[Principal, Depends(api_principal)]


def create_app(snapshots: Path | None = None, warehouse_path: Path | None = None) -> FastAPI:
    settings = get_settings()
    state = State(Path(snapshots or snapshot_dir()), Path(warehouse_path or settings.warehouse_path))
    # Swagger UI and ReDoc load their scripts from a CDN: off. The schema itself is at /openapi.json.
    app = FastAPI(title="Lodestar sales cockpit API", version="1", docs_url=None, redoc_url=None,
                  description="JSON API of the sales cockpit. Sign in with POST /api/login, then send the token as "
                              "`Authorization: Bearer <token>` (or the session cookie).")
    app.state.cockpit = state
    # HTML and JSON of more than 1 KB go gzipped to a browser that takes it (level 5: a forecast answer of a
    # scale-10 company compresses in well under a millisecond); plotly.js is compressed once, below.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=5)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    versions = _asset_versions()
    templates.env.globals["asset"] = lambda name: f"/static/{name}?v={versions.get(name, '0')}"
    templates.env.globals["plotly_url"] = f"/vendor/plotly.min.js?v={plotly.__version__}"
    app.mount("/static", AssetFiles(directory=str(HERE / "static")), name="static")
    plotly_gz = _GzippedFile(PLOTLY_JS)
    threading.Thread(target=plotly_gz.body, daemon=True).start()  # compressed before the first page asks

    # ------------------------------------------------------------------------------------ errors
    @app.exception_handler(CockpitError)
    async def _cockpit_error(request: Request, exc: CockpitError):
        return JSONResponse({"detail": [{"field": exc.field, "message": exc.message}]}, status_code=exc.status,
                            headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        detail = [{"field": ".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path")) or None,
                   "message": e["msg"]} for e in exc.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(ScenarioError)
    async def _no_forecast(request: Request, exc: ScenarioError):
        return JSONResponse({"detail": [{"field": None, "message": f"no forecast to re-forecast: {exc}"}]},
                            status_code=503)

    @app.exception_handler(NoSnapshotError)
    async def _no_snapshot(request: Request, exc: NoSnapshotError):
        return JSONResponse({"detail": [{"field": None, "message": str(exc)}]}, status_code=503)

    # ------------------------------------------------------------------------------------ auth
    def _authenticate(username: str, password: str) -> Principal | None:
        user = data.lookup_user(state.reader(), username.strip().lower())
        if user is None:
            verify_password(password, "scrypt$00$00")  # same work for unknown users: no username probing by timing
            return None
        if not verify_password(password, user["password_hash"]):
            return None
        return Principal(user["username"], user["display_name"], user["role"], user["principal_id"])

    def _scope(p: Principal) -> data.Scope:
        return data.scope_for(state.reader(), p)

    # ------------------------------------------------------------------------------------ API
    @app.post("/api/login", tags=["auth"], summary="Sign in; returns a session token")
    def api_login(body: LoginIn) -> dict:
        p = _authenticate(body.username, body.password)
        if p is None:
            raise CockpitError(401, "wrong username or password", field="password")
        s = state.sessions.create(p)
        return {"token": s.token, "expires_at": s.expires_at, "user": p.__dict__}

    @app.post("/api/logout", tags=["auth"])
    def api_logout(request: Request) -> dict:
        s = _session(request)
        state.sessions.drop(s.token if s else None)
        return {"signed_out": True}

    @app.get("/api/me", tags=["auth"])
    def api_me(who: Who) -> dict:
        reader = state.reader()
        return {"user": who.__dict__, "snapshot": reader.snapshot.snapshot_id, "currency": reader.currency}

    @app.get("/api/levers", tags=["forecast"], summary="The twelve levers: unit, range, default, meaning")
    def api_levers(who: Who) -> list[dict]:
        return [{**r, "name_zh": LEVER_NAMES_ZH.get(r["name"], r["name"])} for r in spec_table()]

    def _forecast_role(who: Principal) -> None:
        if who.role == "csg_member":
            raise CockpitError(403, "forecast series are for sales directors and account managers")

    def _prepared(who: Principal):
        _forecast_role(who)
        reader = state.reader()
        return state.forecast.get(reader.snapshot.snapshot_id, reader.snapshot.warehouse())

    def _am(who: Principal) -> str | None:
        return who.principal_id if who.role == "account_manager" else None

    @app.post("/api/forecast", tags=["forecast"],
              summary="Re-forecast the next 13 weeks under the given levers (by region, product line, channel)")
    def api_forecast(body: ForecastIn, who: Who) -> dict:
        return _reforecast(_levers(body.levers), who)

    def _reforecast(levers: Levers, who: Principal) -> dict:
        prepared = _prepared(who)
        t0 = time.perf_counter()
        out = prepared.totals(levers, _am(who))
        out["levers"] = levers.model_dump()
        out["changed"] = levers.changed()
        out["server_ms"] = round(1000 * (time.perf_counter() - t0), 2)
        return out

    @app.get("/api/scenarios", tags=["scenarios"], summary="Saved scenarios (raw.forecast_scenarios)")
    def api_scenarios(who: Who) -> list[dict]:
        _forecast_role(who)
        return _scenario_list()

    def _scenario_list() -> list[dict]:
        return [{k: v for k, v in r.items() if k not in ("total_base", "total_scenario")} | {"levers": _parse(r)}
                for r in data.saved_scenarios(state.reader())]

    def _stored_levers(name: str) -> Levers:
        for r in data.saved_scenarios(state.reader()):
            if r["scenario_name"] == name:
                return Levers.with_overrides(_parse(r))
        raise CockpitError(404, f"no saved scenario named {name!r}", field="name")

    @app.get("/api/scenarios/compare", tags=["scenarios"], summary="Two saved scenarios side by side")
    def api_compare(who: Who, a: Annotated[str, Query(min_length=1, max_length=64)],
                    b: Annotated[str, Query(min_length=1, max_length=64)]) -> dict:
        prepared = _prepared(who)
        la, lb = _stored_levers(a), _stored_levers(b)
        return {"a": {"name": a, "levers": la.model_dump(), **prepared.totals(la, _am(who))},
                "b": {"name": b, "levers": lb.model_dump(), **prepared.totals(lb, _am(who))}}

    @app.get("/api/scenarios/{name}", tags=["scenarios"], summary="One saved scenario: its levers and totals")
    def api_scenario(name: str, who: Who) -> dict:
        prepared = _prepared(who)
        levers = _stored_levers(name)
        return {"name": name, "levers": levers.model_dump(), **prepared.totals(levers, _am(who))}

    @app.post("/api/scenarios", tags=["scenarios"], status_code=201,
              summary="Save a named scenario to raw.forecast_scenarios (the object the CLI and launchpad write)")
    def api_save(body: ScenarioIn, who: Who) -> dict:
        name = body.name.strip()
        if not SCENARIO_NAME.match(name):
            raise CockpitError(422, "scenario name: 1-64 letters, digits, spaces, '-', '_' or '.'", field="name")
        if name == "default":
            raise CockpitError(422, "scenario `default` is the main job's (levers.yaml as is); pick another name",
                               field="name")
        levers = _levers(body.levers)
        prepared = _prepared(who)
        old = state.reader().snapshot.snapshot_id
        with state.save_lock:
            try:
                # One short transaction on the warehouse (the same rows `lodestar scenario --name` writes), then the
                # same rows into a copy of the current snapshot: the warehouse is locked only for the write.
                # The writer's lock is retried with backoff for up to SAVE_WAIT_SECONDS (a dbt step's transaction
                # is short), then the save answers 503.
                rows = prepared.save(Warehouse(state.warehouse_path, lock_timeout=SAVE_WAIT_SECONDS), name, levers)
                snap = publish_derived(lambda wh: prepared.save(wh, name, levers), state.snapshots)
            except duckdb.IOException as exc:
                if "lock" in str(exc).lower():
                    # Nothing was written (the warehouse transaction never opened, the snapshot copy comes after).
                    raise CockpitError(
                        503, f"scenario {name!r} was not saved: the warehouse is being written by a pipeline run "
                        f"(waited {SAVE_WAIT_SECONDS:g} s for its lock); try again shortly", field="name",
                        headers={"Retry-After": "5"}) from None
                raise
        # Only raw.forecast_scenarios changed: the prepared engine stays valid for the new snapshot.
        state.forecast.rekey(old, snap.snapshot_id)
        return {"name": name, "rows": rows, "levers": levers.model_dump(), "changed": levers.changed(),
                "snapshot": snap.snapshot_id}

    @app.get("/api/lights", tags=["pages"], summary="Warning lights per region and CSG")
    def api_lights(who: Who) -> list[dict]:
        return data.warning_lights(state.reader(), _scope(who))

    @app.get("/api/lights/{scope_type}/{scope_id}", tags=["pages"], summary="The reason behind one light")
    def api_light(scope_type: str, scope_id: str, who: Who) -> dict:
        if scope_type not in ("region", "csg"):
            raise CockpitError(422, "scope_type must be region or csg", field="scope_type")
        return _visible(lambda: data.light_reasons(state.reader(), _scope(who), scope_type, scope_id))

    @app.get("/api/matrix", tags=["pages"], summary="Value x complexity, CSG pilot list, team sizing")
    def api_matrix(who: Who) -> dict:
        return data.matrix(state.reader(), _scope(who))

    @app.get("/api/customers", tags=["pages"], summary="Customers the user may see (optional search)")
    def api_customers(who: Who, q: Annotated[str | None, Query(max_length=64)] = None) -> list[dict]:
        return data.customers(state.reader(), _scope(who), q)

    @app.get("/api/customers/{customer_id}", tags=["pages"], summary="Everything of the customer page")
    def api_customer(customer_id: str, who: Who) -> dict:
        return _visible(lambda: data.customer(state.reader(), _scope(who), customer_id))

    @app.get("/api/csg", tags=["pages"], summary="CSG workbench: members, tasks, rates")
    def api_csg(who: Who) -> dict:
        return data.csg_workbench(state.reader(), _scope(who))

    @app.get("/api/reconciliation", tags=["pages"],
             summary="CRM vs POS, launch case (error cost in ten thousands of `currency`), replenishment")
    def api_reconciliation(who: Who) -> dict:
        reader = state.reader()
        return {**data.reconciliation(reader, _scope(who)), "currency": reader.currency}

    @app.get("/api/efficiency", tags=["pages"], summary="marts.efficiency_benchmark as it is")
    def api_efficiency(who: Who) -> list[dict]:
        return data.efficiency(state.reader())

    # ------------------------------------------------------------------------------------ downloads
    @app.get("/reports/{customer_id}/{quarter}.{fmt}", tags=["pages"], summary="A quarterly value report file")
    def report_file(request: Request, customer_id: str, quarter: str, fmt: str):
        s = _session(request)
        if s is None:
            raise CockpitError(401, "sign in first")
        if fmt not in ("pdf", "html"):
            raise CockpitError(422, "format must be pdf or html", field="fmt")
        reader = state.reader()
        if not _scope(s.principal).sees(customer_id):
            raise CockpitError(404, "no such report", field="customer_id")
        row = next((r for r in data.value_reports(reader, customer_id) if r["quarter"] == quarter), None)
        if row is None:
            raise CockpitError(404, "no such report", field="quarter")
        path = Path(row["pdf_path"] if fmt == "pdf" else row["html_path"]).resolve()
        reports_root = (get_settings().home / "reports").resolve()
        if not path.is_relative_to(reports_root) or not path.is_file():
            raise CockpitError(404, "report file missing", field="quarter")
        return FileResponse(path, media_type="application/pdf" if fmt == "pdf" else "text/html",
                            filename=f"{customer_id}-{quarter}.{fmt}")

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js(request: Request):
        # plotly.js from the installed plotly wheel's package data: nothing copied into the repository, no CDN.
        # The templates ask for it with the plotly version in the URL, so it is immutable.
        headers = {"Cache-Control": IMMUTABLE if request.query_params.get("v") else "public, max-age=86400",
                   "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(plotly_gz.body(), media_type="application/javascript",
                            headers={**headers, "Content-Encoding": "gzip"})
        return FileResponse(PLOTLY_JS, media_type="application/javascript", headers=headers)

    # ------------------------------------------------------------------------------------ pages
    def _lang(request: Request) -> str:
        lang = request.cookies.get("lang", "zh")
        return lang if lang in LANGS else "zh"

    def render(request: Request, name: str, who: Principal | None, status: int = 200, **ctx) -> HTMLResponse:
        lang = _lang(request)
        try:
            reader = state.reader()
            snap, cur = reader.snapshot.snapshot_id, reader.currency
        except NoSnapshotError:
            snap, cur = None, currency.DEFAULT
        return templates.TemplateResponse(request, f"{name}.html", {
            "t": translator(lang), "lang": lang, "who": who, "page": name, "pages": PAGES, "snapshot": snap,
            "lever_zh": LEVER_NAMES_ZH, "columns": reason_column_labels(lang), "currency": cur,
            "money": lambda v, digits=0: currency.money(v, cur, digits),
            "money_wan": currency.ten_thousands(cur, lang), **ctx}, status_code=status)

    def page_principal(request: Request) -> Principal | None:
        s = _session(request)
        return s.principal if s else None

    def _login_redirect(request: Request) -> RedirectResponse:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    def page(name: str, build):
        def handler(request: Request):
            who = page_principal(request)
            if who is None:
                return _login_redirect(request)
            try:
                ctx = build(request, who)
            except data.NotVisible:
                return render(request, "error", who, 404, message=translator(_lang(request))("not_found"))
            except CockpitError as exc:
                return render(request, "error", who, exc.status, message=exc.message)
            except NoSnapshotError:
                return render(request, "error", who, 503, message=translator(_lang(request))("no_snapshot"))
            return render(request, name, who, **ctx)
        return handler

    @app.get("/", include_in_schema=False)
    def root(request: Request):
        who = page_principal(request)
        if who is None:
            return _login_redirect(request)
        return RedirectResponse("/csg" if who.role == "csg_member" else "/levers", status_code=303)

    @app.get("/login", include_in_schema=False)
    def login_form(request: Request, next: str = "/"):
        return render(request, "login", None, next=next if next.startswith("/") else "/")

    @app.post("/login", include_in_schema=False)
    async def login_submit(request: Request):
        form = await request.form()
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        nxt = str(form.get("next", "/"))
        nxt = nxt if nxt.startswith("/") and not nxt.startswith("//") else "/"
        try:
            p = _authenticate(username, password) if username and password else None
        except NoSnapshotError:
            return render(request, "login", None, 503, next=nxt, error=translator(_lang(request))("no_snapshot"))
        if p is None:
            return render(request, "login", None, 401, next=nxt, error=translator(_lang(request))("bad_login"),
                          username=username)
        s = state.sessions.create(p)
        resp = RedirectResponse(nxt, status_code=303)
        resp.set_cookie(COOKIE, s.token, httponly=True, samesite="strict", max_age=int(60 * state.sessions.minutes))
        return resp

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request):
        s = _session(request)
        state.sessions.drop(s.token if s else None)
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE)
        return resp

    @app.get("/lang/{code}", include_in_schema=False)
    def set_lang(code: str, next: str = "/"):
        resp = RedirectResponse(next if next.startswith("/") and not next.startswith("//") else "/", status_code=303)
        if code in LANGS:
            resp.set_cookie("lang", code, samesite="strict", max_age=365 * 86400)
        return resp

    def _levers_page(request: Request, who: Principal) -> dict:
        if who.role == "csg_member":
            raise CockpitError(403, translator(_lang(request))("forecast_not_for_csg"))
        # The page's first data rendered into it (what POST /api/forecast with no levers and GET /api/scenarios
        # answer), so it draws without another round trip; without a forecast yet the page asks and shows why.
        try:
            forecast = _reforecast(_levers({}), who)
        except ScenarioError:
            forecast = None
        return {"levers": spec_table(), "inline": {"forecast": forecast, "scenarios": _scenario_list()}}

    def _lights_page(request: Request, who: Principal) -> dict:
        return {"lights": data.warning_lights(state.reader(), _scope(who))}

    def _matrix_page(request: Request, who: Principal) -> dict:
        return {"m": data.matrix(state.reader(), _scope(who))}

    def _customers_page(request: Request, who: Principal) -> dict:
        q = request.query_params.get("q") or None
        error = None
        if q and len(q) > 64:
            q, error = None, "q: at most 64 characters"
        return {"rows": data.customers(state.reader(), _scope(who), q), "q": q or "", "error": error}

    def _csg_page(request: Request, who: Principal) -> dict:
        return {"w": data.csg_workbench(state.reader(), _scope(who))}

    def _recon_page(request: Request, who: Principal) -> dict:
        return {"r": data.reconciliation(state.reader(), _scope(who))}

    def _efficiency_page(request: Request, who: Principal) -> dict:
        return {"rows": data.efficiency(state.reader())}

    for name, build in (("levers", _levers_page), ("lights", _lights_page), ("matrix", _matrix_page),
                        ("customers", _customers_page), ("csg", _csg_page), ("reconciliation", _recon_page),
                        ("efficiency", _efficiency_page)):
        app.add_api_route(f"/{name}", page(name, build), methods=["GET"], include_in_schema=False,
                          response_class=HTMLResponse)

    def _customer_page(request: Request, who: Principal) -> dict:
        cid = request.path_params["customer_id"]
        return {"c": data.customer(state.reader(), _scope(who), cid)}

    app.add_api_route("/customers/{customer_id}", page("customer", _customer_page), methods=["GET"],
                      include_in_schema=False, response_class=HTMLResponse)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        return Response("ok", media_type="text/plain")

    return app


def _parse(row: dict) -> dict:
    import json

    try:
        values = json.loads(row.get("levers_json") or "{}")
    except ValueError:
        values = {}
    return {k: v for k, v in values.items() if k in SPECS}


def _visible(fn):
    try:
        return fn()
    except data.NotVisible:
        raise CockpitError(404, "not found (or not yours to see)") from None


def serve(host: str = "127.0.0.1", port: int = 8600) -> None:
    """Run the cockpit with uvicorn (one process; binds 127.0.0.1 unless told otherwise)."""
    import uvicorn

    uvicorn.run(create_app(), host=host, port=port, log_level="info", access_log=False)
