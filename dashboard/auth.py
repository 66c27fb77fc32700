"""Who may look: a server-rendered login form (Flask-Login), users from a file, sessions that expire.

On whenever the dashboard listens beyond loopback (`DASH_HOST`), or with `DASH_AUTH=on`.
Then every request but `/login` and `/logout` (answered by the gate itself, before any
hook of Dash) needs a logged-in session: a page GET is
redirected to `/login?next=...`, anything else (layout, callbacks and with them every CSV
download, component suites, assets) answers 401. Settings (README "Putting the dashboard
on the internet"): `DASH_USERS_FILE`, `DASH_SECRET_KEY`, `DASH_SESSION_MINUTES` (720),
`DASH_COOKIE_SECURE` (on unless loopback), `DASH_AUTH` (auto | on).

A session is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure behind TLS); it ends
after `DASH_SESSION_MINUTES` without a request (each request renews it), at logout, or
when the user's password changes or the user is removed from the file.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from html import escape
from urllib.parse import urlencode

from dashboard import users as users_file

log = logging.getLogger(__name__)

_EXTENSION = "nk_dash_auth"
_OPEN_PATHS = frozenset({"/login", "/logout"})
_DEFAULT_MINUTES = 720.0
_FAIL_DELAY_S = 0.4
_FREE_TRIES = 5
_TRY_WINDOW_S = 15 * 60
_FIRST_WAIT_S = 15.0
_MAX_WAIT_S = 300.0
_WRONG = "Wrong user or password."


class AuthConfigError(RuntimeError):
    """Auth is required but not configured: the dashboard refuses to start."""


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def required(host: str | None = None) -> bool:
    """Whether the dashboard must ask for a login: beyond loopback always, else with DASH_AUTH=on."""
    mode = os.environ.get("DASH_AUTH", "auto").strip().lower() or "auto"
    if mode not in ("auto", "on"):
        raise AuthConfigError(f"DASH_AUTH must be 'auto' or 'on' (got {mode!r})")
    host = host or os.environ.get("DASH_HOST", "127.0.0.1")
    return mode == "on" or not is_loopback(host)


# --------------------------------------------------------------------------- guessing


@dataclass
class _Throttle:
    """After 5 wrong passwords for one name, a wait before the next try: 15 s, doubling, at most 5 min."""

    fails: dict[str, tuple[int, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_s(self, name: str, now: float) -> float:
        with self.lock:
            count, last = self.fails.get(name, (0, 0.0))
            if count < _FREE_TRIES or now - last > _TRY_WINDOW_S:
                return 0.0
            return max(0.0, last + min(_FIRST_WAIT_S * 2.0 ** (count - _FREE_TRIES), _MAX_WAIT_S) - now)

    def failed(self, name: str, now: float) -> None:
        with self.lock:
            count, last = self.fails.get(name, (0, 0.0))
            self.fails[name] = (1 if now - last > _TRY_WINDOW_S else count + 1, now)
            if len(self.fails) > 10_000:  # names are attacker-chosen: forget the old ones
                for key, (_c, t) in list(self.fails.items()):
                    if now - t > _TRY_WINDOW_S:
                        del self.fails[key]

    def succeeded(self, name: str) -> None:
        with self.lock:
            self.fails.pop(name, None)


@dataclass
class _State:
    store: users_file.UserStore
    lifetime_s: float
    throttle: _Throttle = field(default_factory=_Throttle)
    # A cookie session outlives a logout if someone kept a copy: logged-out session ids are refused
    # until they would have expired anyway (in memory: one process, as `python -m dashboard` runs).
    ended: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def end(self, sid: str) -> None:
        now = time.monotonic()
        with self.lock:
            self.ended = {k: t for k, t in self.ended.items() if t > now}
            self.ended[sid] = now + self.lifetime_s + 60

    def is_ended(self, sid: str | None) -> bool:
        with self.lock:
            return sid is None or sid in self.ended


# --------------------------------------------------------------------------- setup


def _settings(host: str) -> tuple[str, users_file.UserStore, float, bool]:
    secret = os.environ.get("DASH_SECRET_KEY", "")
    if len(secret) < 32:
        raise AuthConfigError(
            "DASH_SECRET_KEY is missing or shorter than 32 characters; it signs the login sessions. Create one:"
            ' python -c "import secrets; print(secrets.token_urlsafe(48))"'
        )
    path = os.environ.get("DASH_USERS_FILE", "")
    how = "Create it with: python -m dashboard.users --file PATH add NAME [--store ID], then set DASH_USERS_FILE=PATH"
    if not path:
        raise AuthConfigError(f"the dashboard asks for a login here but DASH_USERS_FILE is not set. {how}")
    store = users_file.UserStore(path)
    try:
        found = store.users()
    except FileNotFoundError:
        raise AuthConfigError(f"DASH_USERS_FILE={path} does not exist. {how}") from None
    except (OSError, users_file.UsersFileError) as exc:
        raise AuthConfigError(str(exc)) from None
    if not found:
        raise AuthConfigError(f"{path} holds no user. {how}")
    try:
        minutes = float(os.environ.get("DASH_SESSION_MINUTES") or _DEFAULT_MINUTES)
    except ValueError:
        raise AuthConfigError("DASH_SESSION_MINUTES must be a number of minutes") from None
    if not 0 < minutes <= 60 * 24 * 90:
        raise AuthConfigError("DASH_SESSION_MINUTES must be above 0 and at most 90 days")
    secure_env = os.environ.get("DASH_COOKIE_SECURE", "").strip()
    secure = secure_env == "1" if secure_env else not is_loopback(host)
    return secret, store, minutes, secure


def protect(app) -> bool:  # noqa: ANN001  (a dash.Dash; not imported here to keep this module light)
    """Install the login on `app.server` when `required()`; raises AuthConfigError if unconfigured."""
    host = os.environ.get("DASH_HOST", "127.0.0.1")
    if not required(host):
        return False
    from flask_login import LoginManager

    secret, store, minutes, secure = _settings(host)
    server = app.server
    server.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_NAME="nk_dash_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=minutes),
        SESSION_REFRESH_EACH_REQUEST=True,
    )
    manager = LoginManager()
    manager.session_protection = "basic"
    manager.init_app(server, add_context_processor=False)
    state = _State(store, minutes * 60)
    manager.user_loader(lambda user_id: _load_user(state, user_id))
    server.extensions[_EXTENSION] = state
    # First of all hooks: nothing of Dash runs for a request without a login, and /login and
    # /logout are answered right here (so Dash's first-request setup never runs for a stranger).
    server.before_request_funcs.setdefault(None, []).insert(0, _gate)
    log.info(
        "login required: %d user(s) in %s, sessions of %g min, secure cookie %s",
        len(store.users()),
        store.path,
        minutes,
        "on" if secure else "off",
    )
    return True


# --------------------------------------------------------------------------- requests


@functools.cache
def _login_user_class():  # noqa: ANN202
    from flask_login import UserMixin

    class LoginUser(UserMixin):
        def __init__(self, user: users_file.User) -> None:
            self.user = user

        def get_id(self) -> str:
            return f"{self.user.name}:{self.user.fingerprint}"

    return LoginUser


def _load_user(state: _State, user_id: str):  # noqa: ANN202
    from flask import session

    if state.is_ended(session.get("nk_sid")):
        return None
    name, _sep, fingerprint = user_id.rpartition(":")
    try:
        user = state.store.get(name)
    except (OSError, users_file.UsersFileError):
        log.exception("cannot read the users file: nobody is let in")
        return None
    if user is None or not users_file.same_fingerprint(user, fingerprint):
        return None
    return _login_user_class()(user)


def _gate():  # noqa: ANN202
    from flask import Response, redirect, request, session
    from flask_login import current_user

    if request.path in _OPEN_PATHS and request.method in ("GET", "HEAD", "POST"):
        return _login() if request.path == "/login" else _logout()
    if current_user.is_authenticated:
        session.permanent = True
        return None
    if request.method == "GET" and not request.path.startswith(("/_", "/assets/")):
        target = request.full_path if request.query_string else request.path
        return redirect("/login?" + urlencode({"next": target}))
    return Response("Log in first.\n", 401, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"})


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never `//host` or `https://host` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(c.isspace() or not c.isprintable() for c in target):  # browsers drop tabs: "/\t/evil" is "//evil"
        return "/"
    return target


def _login():  # noqa: ANN202
    from flask import current_app, redirect, request, session
    from flask_login import current_user, login_user

    state: _State = current_app.extensions[_EXTENSION]
    target = _safe_next(request.values.get("next"))
    if request.method != "POST":
        if current_user.is_authenticated:
            return redirect(target)
        return _form(target)
    name = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    token = request.form.get("csrf") or ""
    if not token or not hmac.compare_digest(token.encode(), str(session.get("csrf", "")).encode()):
        return _form(target, "The form expired; please try again.", status=400)
    now = time.monotonic()
    wait = state.throttle.wait_s(name.lower(), now)
    if wait > 0:
        return _form(target, f"Too many tries. Wait {int(wait) + 1} s and try again.", name, status=429)
    try:
        user = state.store.get(name) if users_file.NAME.fullmatch(name) else None
    except (OSError, users_file.UsersFileError):
        log.exception("cannot read the users file: nobody is let in")
        user = None
    if not users_file.check_password(user, password):
        state.throttle.failed(name.lower(), now)
        time.sleep(_FAIL_DELAY_S)
        log.warning("failed login for %r from %s", name[:64], request.remote_addr)
        return _form(target, _WRONG, name, status=401)
    state.throttle.succeeded(name.lower())
    session.clear()
    session.permanent = True
    session["nk_sid"] = secrets.token_urlsafe(18)
    login_user(_login_user_class()(user))
    log.info("login %s from %s", user.name, request.remote_addr)
    return redirect(target)


def _logout():  # noqa: ANN202
    from flask import current_app, redirect, session
    from flask_login import logout_user

    if session.get("nk_sid"):
        current_app.extensions[_EXTENSION].end(session["nk_sid"])
    logout_user()
    session.clear()
    return redirect("/login")


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>Log in · NK Dash</title>
<style>
*{{box-sizing:border-box}}
body{{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f4f5f7;color:#1f2933}}
form{{width:min(22rem,calc(100vw - 2rem));background:#fff;padding:1.5rem;border-radius:12px;
box-shadow:0 1px 3px rgba(0,0,0,.12)}}
h1{{font-size:1.25rem;margin:0 0 1rem}} label{{display:block;font-size:.9rem;margin:.75rem 0 .25rem}}
input{{width:100%;padding:.65rem;font-size:1rem;border:1px solid #c5ccd3;border-radius:8px}}
button{{width:100%;margin-top:1.25rem;padding:.7rem;font-size:1rem;border:0;border-radius:8px;
background:#1f6feb;color:#fff}}
.error{{color:#b42318;margin:.5rem 0 0}}
</style></head><body>
<form method="post" action="/login">
<h1>NK Dash</h1>{error}
<input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="next" value="{next}">
<label for="username">User</label>
<input id="username" name="username" autocomplete="username" autocapitalize="none" required value="{name}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form></body></html>
"""


def _form(target: str, error: str = "", name: str = "", status: int = 200):  # noqa: ANN202
    from flask import Response, session

    token = session.get("csrf") or secrets.token_urlsafe(24)
    session["csrf"] = token
    html = _PAGE.format(
        error=f'<p class="error" role="alert">{escape(error)}</p>' if error else "",
        csrf=escape(token),
        next=escape(target),
        name=escape(name[:64]),
    )
    headers = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Content-Type": "text/html; charset=utf-8"}
    return Response(html, status, headers)


# --------------------------------------------------------------------------- for the app


def _current_user() -> users_file.User | None | bool:
    """The logged-in user; None when auth is off or outside a request (bench, tests); False if anonymous."""
    from flask import current_app, has_request_context

    if not has_request_context() or _EXTENSION not in current_app.extensions:
        return None
    from flask_login import current_user

    return current_user.user if current_user.is_authenticated else False


def store_scope() -> int | None:
    """The only store the logged-in user may see; None = every store (or auth off, or no request)."""
    user = _current_user()
    if user is False:
        raise PermissionError("not logged in")  # the gate lets no such request reach a query: fail closed
    return None if user is None else user.store_id


def user_badge():  # noqa: ANN201
    """Header element: who is logged in and a "Log out" link; empty when auth is off."""
    from dash import html

    user = _current_user()
    if not user:  # auth off, or Dash validating its layout while serving /login
        return html.Div(id="auth-user")
    return html.Div(
        [
            html.Span(user.name, id="auth-user-name"),
            " · ",
            html.A("Log out", href="/logout", id="auth-logout", style={"color": "inherit"}),
        ],
        id="auth-user",
        style={"fontSize": "0.9rem", "whiteSpace": "nowrap", "marginLeft": "auto"},
    )
