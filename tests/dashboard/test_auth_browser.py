"""The login for real: `python -m dashboard` with DASH_AUTH=on, plain HTTP and Debian's headless Chromium.

Nothing answers without a login (pages, layout, dependencies, a callback payload captured
from the app — the CSV download —, component suites, assets); the form logs in and out on
a desktop and on a phone; a short session expires; a shop manager sees their store only.
"""

from __future__ import annotations

import http.cookiejar
import re
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from dashboard_fake_lake import END, STORES, fmt_money, select, totals
from test_dashboard_browser import _WAIT_MS, ARTIFACTS, start_dashboard

from dashboard import users

_COOKIE = "nk_dash_session"

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        return None


def _fetch(url: str, data: bytes | None = None, cookie: str | None = None, opener=None) -> tuple[int, str, str]:  # noqa: ANN001
    """(status, Location, body) without following redirects."""
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if cookie:
        headers["Cookie"] = f"{_COOKIE}={cookie}"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with (opener or urllib.request.build_opener(_NoRedirect)).open(request, timeout=30) as response:
            return response.status, response.headers.get("Location", ""), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", ""), exc.read().decode(errors="replace")


def _login_over_http(base: str, name: str, password: str) -> tuple[urllib.request.OpenerDirector, str]:
    """Log in through the form with a cookie jar, as a browser would; returns the opener and the cookie."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    _status, _loc, page = _fetch(base + "login", opener=opener)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    form = urlencode({"username": name, "password": password, "csrf": token, "next": "/"}).encode()
    status, location, _body = _fetch_form(opener, base + "login", form)
    assert (status, location) == (302, "/"), status
    return opener, next(c.value for c in jar if c.name == _COOKIE)


def _fetch_form(opener: urllib.request.OpenerDirector, url: str, form: bytes) -> tuple[int, str, str]:
    request = urllib.request.Request(url, data=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers.get("Location", ""), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", ""), ""


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A users file with an owner (every store) and the Ghent manager (store 2); passwords made per run."""
    passwords = {"anna": secrets.token_urlsafe(12), "ghent": secrets.token_urlsafe(12)}
    path = tmp_path_factory.mktemp("auth") / "users.toml"
    users.save(
        path,
        {
            "anna": users.User("anna", users.hash_password(passwords["anna"])),
            "ghent": users.User("ghent", users.hash_password(passwords["ghent"]), store_id=2),
        },
    )
    return path, passwords


def _serve(tmp_path_factory: pytest.TempPathFactory, lake: Path, users_file: Path, **extra: str) -> Iterator[str]:
    env = {"DASH_AUTH": "on", "DASH_USERS_FILE": str(users_file), "DASH_SECRET_KEY": secrets.token_urlsafe(48)}
    yield from start_dashboard(tmp_path_factory, lake, {**env, **extra}, ready="login")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fake_lake: Path, accounts) -> Iterator[str]:  # noqa: ANN001
    yield from _serve(tmp_path_factory, fake_lake, accounts[0])


def _log_in(page, base: str, name: str, password: str) -> None:  # noqa: ANN001
    page.locator("#username").fill(name)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_nothing_answers_without_a_login(server: str, accounts) -> None:  # noqa: ANN001
    for path in ("", "stores", "products?start=2025-02-01", "payments"):
        status, location, _body = _fetch(server + path)
        assert status == 302 and location.startswith("/login?next=%2F"), (path, status, location)
    for path in ("_dash-layout", "_dash-dependencies", "assets/style.css", "_favicon.ico", "_reload-hash"):
        assert _fetch(server + path)[0] == 401, path
    # Every script the page loads, as listed in the page a logged-in user gets.
    opener, cookie = _login_over_http(server, "anna", accounts[1]["anna"])
    status, _loc, index = _fetch(server, opener=opener)
    suites = re.findall(r'src="/(_dash-component-suites/[^"]+)"', index)
    assert status == 200 and len(suites) >= 5, index[:500]
    for path in suites:
        assert _fetch(server + path, cookie=cookie)[0] == 200, path
        assert _fetch(server + path)[0] == 401, path
    assert _fetch(server + "_dash-layout", cookie=cookie)[0] == 200


def test_login_csv_logout_in_a_browser(server: str, browser, accounts, lake_rows: list[dict]) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    password = accounts[1]["anna"]
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(server + "?start=2025-02-01&end=2025-02-14")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F%3Fstart%3D2025-02-01"))
    _log_in(page, server, "anna", "not-" + password)
    expect(page.locator(".error")).to_have_text("Wrong user or password.")
    expect(page.locator("#kpi-revenue")).to_have_count(0)

    _log_in(page, server, "anna", password)
    feb = totals(select(lake_rows, END.replace(month=2, day=1), END.replace(month=2, day=14)))
    expect(page.locator("#kpi-revenue")).to_have_text(fmt_money(feb["revenue"]), timeout=_WAIT_MS)
    expect(page).to_have_url(server + "?start=2025-02-01&end=2025-02-14")  # back where the link pointed
    expect(page.locator("#auth-user-name")).to_have_text("anna")

    # The CSV download: keep the exact callback request the app sends.
    sent: list[tuple[str, bytes]] = []

    def keep(request) -> None:  # noqa: ANN001
        body = request.post_data_buffer or b""
        if urlsplit(request.url).path == "/_dash-update-component" and b"chart-csv" in body:
            sent.append((request.url, body))

    page.on("request", keep)
    with page.expect_download() as download:
        page.locator("#chart-trend").locator("xpath=ancestor::section").get_by_role("button", name="CSV").click()
    assert Path(download.value.path()).read_text().startswith("Date,Revenue (EUR)")
    assert sent, "no download callback seen"
    cookie = next(c["value"] for c in context.cookies() if c["name"] == _COOKIE)
    status, _loc, body = _fetch(*sent[-1], cookie)
    assert status == 200 and "Date,Revenue (EUR)" in body  # the payload is valid ...
    assert _fetch(*sent[-1])[0] == 401  # ... and needs a login

    page.locator("#auth-logout").click()
    expect(page).to_have_url(server + "login")
    page.goto(server)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    assert _fetch(*sent[-1], cookie)[0] == 401  # a kept cookie is dead too
    assert not errors, errors
    context.close()


def test_a_shop_manager_on_a_phone_sees_only_their_store(server: str, browser, accounts, lake_rows) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(server)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # the form fits a phone
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "login-phone.png"))
    _log_in(page, server, "ghent", accounts[1]["ghent"])
    start = END - timedelta(days=29)
    revenue = page.locator("#kpi-revenue")
    expect(revenue).to_have_text(fmt_money(totals(select(lake_rows, start, END, store=2))["revenue"]), timeout=_WAIT_MS)
    expect(page.locator("#filter-store")).to_contain_text("Ghent Korenmarkt")
    expect(page.locator("#auth-user-name")).to_have_text("ghent")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # the badge fits the header
    page.locator("#filter-store").click()
    expect(page.get_by_role("option", name="Ghent Korenmarkt")).to_be_visible()
    shown = [text for text in page.get_by_role("option").all_inner_texts() if text in STORES.values()]
    assert shown == ["Ghent Korenmarkt"]  # the store list holds their store only
    assert totals(select(lake_rows, start, END, store=2))["revenue"] != totals(select(lake_rows, start, END))["revenue"]

    page.goto(server + "?store=1")
    expect(page.locator("#messages")).to_contain_text("Invalid filter", timeout=_WAIT_MS)
    expect(revenue).to_have_text("—")
    context.close()


def test_an_idle_session_expires(tmp_path_factory, fake_lake: Path, accounts, browser) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    short = _serve(tmp_path_factory, fake_lake, accounts[0], DASH_SESSION_MINUTES="0.1")  # 6 s
    base = next(short)
    try:
        context = browser.new_context()
        page = context.new_page()
        page.goto(base)
        with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as login:
            _log_in(page, base, "anna", accounts[1]["anna"])
        cookie = re.search(_COOKIE + r"=([^;]+)", login.value.all_headers()["set-cookie"]).group(1)
        assert _fetch(base + "_dash-layout", cookie=cookie)[0] == 200
        expect(page.locator("#kpi-revenue")).not_to_have_text("—", timeout=_WAIT_MS)
        time.sleep(7.5)  # idle: no request renews the session
        assert _fetch(base + "_dash-layout", cookie=cookie)[0] == 401  # the server refuses the old cookie
        page.locator("#filter-reset").click()  # the page stayed open: its next callback is refused ...
        expect(page).to_have_url(re.compile(r"/login\?next=%2F"))  # ... and sends the user to the form
        page.goto(base)
        expect(page).to_have_url(re.compile(r"/login\?next="))  # the browser dropped the cookie too
        context.close()
    finally:
        short.close()
