"""The login in-process: users file, hashing, the gate, sessions, store scope (dashboard/auth.py)."""

from __future__ import annotations

import io
import json
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from flask_login import login_user

from dashboard import auth, queries, users
from dashboard.app import create_app

REPO = Path(__file__).resolve().parents[2]


def _pw() -> str:
    return secrets.token_urlsafe(12)  # generated per run: no password in this file


@pytest.fixture(scope="module")
def passwords() -> dict[str, str]:
    return {"anna": _pw(), "ghent": _pw()}


@pytest.fixture(scope="module")
def users_path(tmp_path_factory: pytest.TempPathFactory, passwords: dict[str, str]) -> Path:
    path = tmp_path_factory.mktemp("users") / "users.json"
    users.save(
        path,
        {
            "anna": users.User("anna", users.hash_password(passwords["anna"])),
            "ghent": users.User("ghent", users.hash_password(passwords["ghent"]), store_id=2),
        },
    )
    return path


@pytest.fixture
def auth_env(monkeypatch: pytest.MonkeyPatch, users_path: Path, lake_env: Path) -> Path:
    monkeypatch.setenv("DASH_AUTH", "on")
    monkeypatch.setenv("DASH_HOST", "127.0.0.1")
    monkeypatch.setenv("DASH_USERS_FILE", str(users_path))
    monkeypatch.setenv("DASH_SECRET_KEY", secrets.token_urlsafe(48))
    monkeypatch.delenv("DASH_SESSION_MINUTES", raising=False)
    monkeypatch.delenv("DASH_COOKIE_SECURE", raising=False)
    monkeypatch.setattr(auth, "_FAIL_DELAY_S", 0.0)
    return users_path


def _login(client, name: str, password: str, next_: str = "/"):  # noqa: ANN001, ANN202
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": name, "password": password, "csrf": token, "next": next_})


# --------------------------------------------------------------------------- users file


def test_hashes_are_scrypt_and_checked(passwords: dict[str, str], users_path: Path) -> None:
    found = users.load(users_path)
    assert found["anna"].password_hash.startswith("scrypt:")
    assert passwords["anna"] not in users_path.read_text()
    assert users_path.stat().st_mode & 0o077 == 0
    assert users.check_password(found["anna"], passwords["anna"])
    assert not users.check_password(found["anna"], passwords["ghent"])
    assert not users.check_password(None, passwords["anna"])
    assert found["ghent"].store_id == 2 and found["anna"].store_id is None


def test_toml_and_json_hold_the_same_users(tmp_path: Path, users_path: Path) -> None:
    found = users.load(users_path)
    users.save(tmp_path / "users.toml", found)
    assert '[users."ghent"]' in (tmp_path / "users.toml").read_text()
    assert users.load(tmp_path / "users.toml") == found


@pytest.mark.parametrize(
    "entry",
    [
        {"password": "a clear-text password"},
        {"password_hash": "a clear-text password"},
        {"password_hash": "scrypt:x$y$z", "store_id": "2"},
    ],
)
def test_clear_text_and_malformed_entries_are_refused(tmp_path: Path, entry: dict) -> None:
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"users": {"bob": entry}}))
    with pytest.raises(users.UsersFileError):
        users.load(path)


def test_users_command_add_list_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # noqa: ANN001
    path = tmp_path / "u.toml"
    password = _pw()
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    assert users.main(["--file", str(path), "add", "lisa", "--store", "3", "--password-stdin"]) == 0
    assert users.check_password(users.load(path)["lisa"], password)
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    with pytest.raises(SystemExit, match="at least"):
        users.main(["--file", str(path), "add", "lisa", "--password-stdin"])
    capsys.readouterr()
    users.main(["--file", str(path), "list"])
    out = capsys.readouterr().out
    assert out == "lisa\tstore 3\n" and "scrypt" not in out
    users.main(["--file", str(path), "remove", "lisa"])
    assert users.load(path) == {}
    with pytest.raises(SystemExit, match="no user"):
        users.main(["--file", str(path), "remove", "lisa"])


# --------------------------------------------------------------------------- when auth is on


@pytest.mark.parametrize(
    ("host", "mode", "expected"),
    [
        ("127.0.0.1", "", False),
        ("localhost", "auto", False),
        ("::1", "", False),
        ("127.0.0.1", "on", True),
        ("0.0.0.0", "", True),
        ("192.168.1.20", "auto", True),
        ("dash.example.com", "", True),
    ],
)
def test_required_beyond_loopback(monkeypatch: pytest.MonkeyPatch, host: str, mode: str, expected: bool) -> None:
    monkeypatch.setenv("DASH_AUTH", mode)
    assert auth.required(host) is expected


def test_refuses_to_start_unconfigured(auth_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DASH_SECRET_KEY")
    with pytest.raises(auth.AuthConfigError, match="DASH_SECRET_KEY"):
        create_app()
    monkeypatch.setenv("DASH_SECRET_KEY", secrets.token_urlsafe(48))
    monkeypatch.setenv("DASH_USERS_FILE", str(tmp_path / "nobody.json"))
    with pytest.raises(auth.AuthConfigError, match="python -m dashboard.users"):
        create_app()
    monkeypatch.setenv("DASH_AUTH", "off")
    with pytest.raises(auth.AuthConfigError, match="DASH_AUTH"):
        create_app()


def test_public_host_without_users_file_exits_with_a_clear_message(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "DATA_LAKE_PATH": str(tmp_path)}
    res = subprocess.run(
        [sys.executable, "-m", "dashboard", "--host", "0.0.0.0", "--port", "9"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode != 0
    assert "dashboard not started" in res.stderr and "DASH_SECRET_KEY" in res.stderr


# --------------------------------------------------------------------------- the gate and sessions


def test_gate_login_logout_in_process(auth_env: Path, passwords: dict[str, str]) -> None:
    server = create_app().server
    assert server.config["SESSION_COOKIE_HTTPONLY"] and server.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert server.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 720 * 60
    client = server.test_client()
    assert client.get("/?store=2").headers["Location"] == "/login?next=%2F%3Fstore%3D2"
    assert client.get("/_dash-layout").status_code == 401
    assert client.post("/_dash-update-component", json={}).status_code == 401

    wrong = _login(client, "anna", passwords["ghent"])
    assert wrong.status_code == 401 and "Wrong user or password." in wrong.get_data(as_text=True)
    unknown = _login(client, "nobody", passwords["anna"])
    assert unknown.status_code == 401 and "Wrong user or password." in unknown.get_data(as_text=True)
    no_token = client.post("/login", data={"username": "anna", "password": passwords["anna"]})
    assert no_token.status_code == 400

    ok = _login(client, "anna", passwords["anna"], next_="//evil.example.com/")
    assert ok.status_code == 302 and ok.headers["Location"] == "/"  # no open redirect
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie and "Secure" not in cookie
    assert client.get("/_dash-layout").status_code == 200
    kept = client.get_cookie("nk_dash_session").value

    assert client.get("/logout").headers["Location"] == "/login"
    assert client.get("/_dash-layout").status_code == 401
    client.set_cookie("nk_dash_session", kept)  # a copy of the cookie from before the logout
    assert client.get("/_dash-layout").status_code == 401


def test_password_change_or_removal_ends_sessions(auth_env: Path, passwords: dict[str, str], tmp_path, monkeypatch):  # noqa: ANN001
    path = tmp_path / "users.json"
    path.write_bytes(auth_env.read_bytes())
    monkeypatch.setenv("DASH_USERS_FILE", str(path))
    client = create_app().server.test_client()
    assert _login(client, "ghent", passwords["ghent"]).status_code == 302
    assert client.get("/_dash-layout").status_code == 200
    found = users.load(path)
    found["ghent"] = users.User("ghent", users.hash_password(_pw()), 2)
    users.save(path, found)
    assert client.get("/_dash-layout").status_code == 401
    assert _login(client, "anna", passwords["anna"]).status_code == 302
    del found["anna"]
    users.save(path, found)
    assert client.get("/_dash-layout").status_code == 401


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/?store=2", "/?store=2"),
        ("/stores", "/stores"),
        ("//evil.example.com/", "/"),
        ("https://evil.example.com/", "/"),
        ("/\\evil.example.com", "/"),
        ("/\t/evil.example.com", "/"),
        (None, "/"),
    ],
)
def test_next_stays_on_this_site(target: str | None, expected: str) -> None:
    assert auth._safe_next(target) == expected


def test_a_form_without_its_token_is_refused(auth_env: Path, passwords: dict[str, str]) -> None:
    client = create_app().server.test_client()  # a fresh browser: no token in its session either
    res = client.post("/login", data={"username": "anna", "password": passwords["anna"], "csrf": ""})
    assert res.status_code == 400
    assert client.get("/_dash-layout").status_code == 401


def test_the_wait_after_wrong_passwords_doubles_up_to_five_minutes() -> None:
    throttle = auth._Throttle()
    for i in range(auth._FREE_TRIES):
        assert throttle.wait_s("anna", 100.0 + i) == 0
        throttle.failed("anna", 100.0 + i)
    last = 100.0 + auth._FREE_TRIES - 1
    assert throttle.wait_s("anna", last) == 15
    throttle.failed("anna", last)
    assert throttle.wait_s("anna", last) == 30
    for _ in range(10):
        throttle.failed("anna", last)
    assert throttle.wait_s("anna", last) == 300
    assert throttle.wait_s("anna", last + 301) == 0
    throttle.succeeded("anna")
    assert throttle.wait_s("anna", last) == 0


def test_guessing_is_slowed_down(auth_env: Path, passwords: dict[str, str]) -> None:
    client = create_app().server.test_client()
    codes = [_login(client, "anna", f"guess-{i}").status_code for i in range(auth._FREE_TRIES + 1)]
    assert codes == [401] * auth._FREE_TRIES + [429]
    assert _login(client, "anna", passwords["anna"]).status_code == 429  # even the right one waits
    assert _login(client, "ghent", passwords["ghent"]).status_code == 302  # other names are not held


# --------------------------------------------------------------------------- store scope


def test_store_scope_restricts_filters_and_store_list(auth_env: Path, fake_lake: Path) -> None:
    info = queries.read_lake_info(str(fake_lake))  # no request: every store
    assert auth.store_scope() is None and len(info.stores) == 3
    server = create_app().server
    found = users.load(auth_env)
    with server.test_request_context("/"):
        login_user(auth._login_user_class()(found["ghent"]))
        assert auth.store_scope() == 2
        assert queries.resolve_filters({}, info).store_id == 2
        assert queries.resolve_filters({"store": "2"}, info).store_id == 2
        with pytest.raises(queries.InvalidFilter):
            queries.resolve_filters({"store": "1"}, info)
        assert queries.read_lake_info(str(fake_lake)).stores == ((2, "Ghent Korenmarkt"),)
    with server.test_request_context("/"):
        login_user(auth._login_user_class()(found["anna"]))
        assert auth.store_scope() is None
        assert queries.resolve_filters({"store": "1"}, info).store_id == 1
        assert len(queries.read_lake_info(str(fake_lake)).stores) == 3
    with server.test_request_context("/"), pytest.raises(PermissionError):
        auth.store_scope()  # anonymous inside a protected app: fail closed


def test_the_anomaly_banner_tells_a_shop_manager_about_their_store_only(auth_env: Path, tmp_path: Path) -> None:
    from datetime import date

    from dashboard.anomaly_banner import banner
    from include.etl import anomaly

    path = anomaly.anomalies_file(str(tmp_path), date(2025, 1, 6))
    path.parent.mkdir(parents=True)
    flagged = [
        {"day": "2025-01-06", "store_id": sid, "store_name": name, "figure": "revenue", "value": 312.4,
         "median": 1204.1, "zscore": -4.2}
        for sid, name in ((1, "Brussels"), (2, "Ghent"))
    ]  # fmt: skip
    path.write_text(json.dumps({"day": "2025-01-06", "stores": [], "anomalies": flagged}))
    assert len(banner(str(tmp_path)).children[2].children) == 2  # no request: every store
    server = create_app().server
    found = users.load(auth_env)
    with server.test_request_context("/"):
        login_user(auth._login_user_class()(found["ghent"]))
        items = [li.children for li in banner(str(tmp_path)).children[2].children]
        assert len(items) == 1 and items[0].startswith("Ghent:")
        flagged.pop()
        path.write_text(json.dumps({"day": "2025-01-06", "stores": [], "anomalies": flagged}))
        assert banner(str(tmp_path)) is None  # only another store was unusual
