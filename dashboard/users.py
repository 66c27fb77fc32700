"""The dashboard's users file, and `python -m dashboard.users` to keep it.

One file (`DASH_USERS_FILE`, JSON or TOML by its suffix) holds each login name, a werkzeug
password hash (scrypt) and optionally the one store that user may see:

    {"users": {"anna": {"password_hash": "scrypt:32768:8:1$...", "store_id": 2}}}

    [users."anna"]
    password_hash = "scrypt:32768:8:1$..."
    store_id = 2

A clear-text password is refused when the file is read. The command writes the file
atomically with mode 600, so a running dashboard picks the change up at the next login:

    python -m dashboard.users add anna --store 2     # asks for the password twice
    printf '%s\\n' "$PW" | python -m dashboard.users add anna --password-stdin
    python -m dashboard.users remove anna
    python -m dashboard.users list
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import hmac
import json
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD_LEN = 10
_HASH_PREFIXES = ("scrypt:", "pbkdf2:")
_DUMMY_HASH: list[str] = []  # computed once: unknown names cost as much as known ones


class UsersFileError(ValueError):
    """The users file is missing, malformed, or holds something that is not a password hash."""


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str
    store_id: int | None = None

    @property
    def fingerprint(self) -> str:
        """Changes with the password: a session made before a password change or removal dies."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def check_password(user: User | None, password: str) -> bool:
    """Constant-time check; an unknown user is checked against a dummy hash so it takes as long."""
    if user is None:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(hash_password(os.urandom(16).hex()))
        check_password_hash(_DUMMY_HASH[0], password)
        return False
    return check_password_hash(user.password_hash, password)


def same_fingerprint(user: User, fingerprint: str) -> bool:
    return hmac.compare_digest(user.fingerprint, fingerprint)


# --------------------------------------------------------------------------- the file


def _is_toml(path: Path) -> bool:
    return path.suffix.lower() == ".toml"


def parse(data: Mapping[str, object], source: str = "users file") -> dict[str, User]:
    entries = data.get("users", {})
    if not isinstance(entries, Mapping):
        raise UsersFileError(f"{source}: 'users' must be a table of login names")
    out: dict[str, User] = {}
    for name, entry in entries.items():
        if not NAME.fullmatch(str(name)):
            raise UsersFileError(f"{source}: {name!r} is not a valid login name (letters, digits, . _ @ -)")
        if not isinstance(entry, Mapping):
            raise UsersFileError(f"{source}: user {name!r} must be a table")
        password_hash = entry.get("password_hash")
        if not (isinstance(password_hash, str) and password_hash.startswith(_HASH_PREFIXES) and "$" in password_hash):
            raise UsersFileError(
                f"{source}: user {name!r} has no werkzeug password hash (never store a clear password;"
                " use `python -m dashboard.users add`)"
            )
        store_id = entry.get("store_id")
        if store_id is not None and (isinstance(store_id, bool) or not isinstance(store_id, int) or store_id < 0):
            raise UsersFileError(f"{source}: user {name!r}: store_id must be a store id (a whole number)")
        out[str(name)] = User(str(name), password_hash, store_id)
    return out


def load(path: str | os.PathLike[str]) -> dict[str, User]:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsersFileError(f"cannot read the users file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode()) if _is_toml(path) else json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsersFileError(f"{path} is not valid {'TOML' if _is_toml(path) else 'JSON'}: {exc}") from None
    if not isinstance(data, Mapping):
        raise UsersFileError(f"{path}: expected a table with 'users'")
    return parse(data, str(path))


def dumps(users: Mapping[str, User], toml: bool = False) -> str:
    if not toml:
        body = {
            name: {"password_hash": u.password_hash, **({"store_id": u.store_id} if u.store_id is not None else {})}
            for name, u in sorted(users.items())
        }
        return json.dumps({"users": body}, indent=2) + "\n"
    lines = ["# NK Dash users: werkzeug password hashes, never clear text (python -m dashboard.users)"]
    for name, u in sorted(users.items()):
        lines += ["", f"[users.{json.dumps(name)}]", f"password_hash = {json.dumps(u.password_hash)}"]
        if u.store_id is not None:
            lines.append(f"store_id = {u.store_id}")
    return "\n".join(lines) + "\n"


def save(path: str | os.PathLike[str], users: Mapping[str, User]) -> None:
    """Atomic replace, mode 600: a reader sees the old file or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(dumps(users, toml=_is_toml(path)))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class UserStore:
    """The users file, re-read when it changes (so `users add/remove` needs no restart)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int, int] | None = None
        self._users: dict[str, User] = {}

    def users(self) -> dict[str, User]:
        """Fails closed: an unreadable or broken file raises, and nobody gets in meanwhile."""
        stat = self.path.stat()
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._users = load(self.path)
            self._stamp = stamp
        return self._users

    def get(self, name: str) -> User | None:
        return self.users().get(name)


# --------------------------------------------------------------------------- the command


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise SystemExit("the two passwords differ")
    if len(password) < MIN_PASSWORD_LEN:
        raise SystemExit(f"a password needs at least {MIN_PASSWORD_LEN} characters")
    return password


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.users", description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=os.environ.get("DASH_USERS_FILE"), help="default: $DASH_USERS_FILE")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="add a user or set a user's password (and store)")
    add.add_argument("name")
    add.add_argument("--store", type=int, default=None, help="the only store this user may see (default: all)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first stdin line")
    remove = sub.add_parser("remove", help="remove a user (their sessions end at their next request)")
    remove.add_argument("name")
    sub.add_parser("list", help="names and stores, never hashes")
    args = parser.parse_args(argv)
    if not args.file:
        parser.error("name the users file: --file PATH or DASH_USERS_FILE")
    path = Path(args.file)
    try:
        current = load(path) if path.exists() else {}
    except UsersFileError as exc:
        raise SystemExit(str(exc)) from None

    if args.command == "list":
        for user in sorted(current.values(), key=lambda u: u.name):
            print(f"{user.name}\t{'all stores' if user.store_id is None else f'store {user.store_id}'}")
        return 0
    if not NAME.fullmatch(args.name):
        raise SystemExit(f"{args.name!r} is not a valid login name (letters, digits, . _ @ -; at most 64)")
    if args.command == "remove":
        if current.pop(args.name, None) is None:
            raise SystemExit(f"no user {args.name!r} in {path}")
        save(path, current)
        print(f"removed {args.name} from {path}")
        return 0
    if args.store is not None and args.store < 0:
        raise SystemExit("--store must be a store id")
    current[args.name] = User(args.name, hash_password(_read_password(args.password_stdin)), args.store)
    save(path, current)
    print(f"saved {args.name} ({'all stores' if args.store is None else f'store {args.store}'}) in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
