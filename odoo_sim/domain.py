"""Odoo domains (prefix notation) compiled to Python predicates, and `order` clauses."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Protocol

Record = dict[str, Any]
Predicate = Callable[[Record], bool]

OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "in", "not in", "like", "ilike", "=like", "=ilike",
             "not like", "not ilike", "child_of", "parent_of", "=?")
_TRUE_LEAF = (1, "=", 1)
_FALSE_LEAF = (0, "=", 1)
_X2MANY = ("one2many", "many2many")


class Schema(Protocol):
    """What the domain engine needs from the model registry."""

    def field_spec(self, model: str, fname: str) -> dict[str, Any]: ...

    def get_record(self, model: str, rid: int) -> Record | None: ...

    def display_name(self, model: str, rid: int) -> str: ...

    def descendants(self, model: str, ids: Iterable[int], parents: bool = False) -> set[int]: ...

    def name_ids(self, model: str, op: str, value: Any) -> set[int]: ...


def parse(domain: Any) -> tuple[Any, ...]:
    """Turn a domain list into a tree of ('&'|'|', a, b), ('!', a) and ('leaf', (f, op, v))."""
    if not domain:
        return ("true",)
    if not isinstance(domain, (list, tuple)):
        raise ValueError(f"Invalid domain: {domain!r}")
    items = list(domain)
    pos = 0

    def expr() -> tuple[Any, ...]:
        nonlocal pos
        if pos >= len(items):
            raise ValueError(f"Invalid domain {domain!r}: missing operand")
        tok = items[pos]
        pos += 1
        if tok in ("&", "|"):
            a = expr()
            b = expr()
            return (tok, a, b)
        if tok == "!":
            return ("!", expr())
        if isinstance(tok, (list, tuple)) and len(tok) == 3:
            if tuple(tok) == _TRUE_LEAF:
                return ("true",)
            if tuple(tok) == _FALSE_LEAF:
                return ("false",)
            fname, op, value = tok
            if not isinstance(fname, str) or op not in OPERATORS:
                raise ValueError(f"Invalid leaf {list(tok)!r}")
            return ("leaf", (fname, op.lower(), value))
        raise ValueError(f"Invalid domain term {tok!r}")

    terms = []
    while pos < len(items):
        terms.append(expr())
    tree = terms[-1]
    for t in reversed(terms[:-1]):
        tree = ("&", t, tree)
    return tree


def leaves(tree: tuple[Any, ...]) -> Iterable[tuple[str, str, Any]]:
    if tree[0] == "leaf":
        yield tree[1]
    elif tree[0] in ("&", "|", "!"):
        for sub in tree[1:]:
            yield from leaves(sub)


def _like_regex(pattern: str, wrap: bool, icase: bool) -> re.Pattern[str]:
    out = []
    for ch in pattern:
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    body = "".join(out)
    if wrap:
        body = f".*{body}.*"
    return re.compile(f"^{body}$", re.S | (re.I if icase else 0))


def _is_null(v: Any) -> bool:
    return v is False or v is None or v == []


class Compiler:
    """Compile a parsed domain against one model of a Schema."""

    def __init__(self, schema: Schema, model: str) -> None:
        self.schema = schema
        self.model = model

    def compile(self, tree: tuple[Any, ...]) -> Predicate:
        kind = tree[0]
        if kind == "true":
            return lambda r: True
        if kind == "false":
            return lambda r: False
        if kind == "&":
            a, b = self.compile(tree[1]), self.compile(tree[2])
            return lambda r: a(r) and b(r)
        if kind == "|":
            a, b = self.compile(tree[1]), self.compile(tree[2])
            return lambda r: a(r) or b(r)
        if kind == "!":
            a = self.compile(tree[1])
            return lambda r: not a(r)
        return self._leaf(*tree[1])

    def _getter(self, path: str) -> tuple[Callable[[Record], Any], dict[str, Any], str]:
        """Getter through many2one hops; returns (getter, spec of last field, its model)."""
        parts = path.split(".")
        model = self.model
        getters: list[tuple[str, str | None]] = []
        spec: dict[str, Any] = {}
        for i, part in enumerate(parts):
            spec = self.schema.field_spec(model, part)
            last = i == len(parts) - 1
            if not last:
                if spec["type"] != "many2one":
                    raise ValueError(f"Only many2one paths are supported in domains, not {path!r}")
                getters.append((part, spec["relation"]))
                model = spec["relation"]
            else:
                getters.append((part, None))
        schema = self.schema
        if len(getters) == 1:
            fname = getters[0][0]
            default = [] if spec["type"] in _X2MANY else False
            return (lambda r: r.get(fname, default)), spec, model

        def get(r: Record) -> Any:
            cur: Record | None = r
            for fname, relation in getters:
                if cur is None:
                    return False
                v = cur.get(fname, False)
                if relation is None:
                    return v
                if not v:
                    return False
                cur = schema.get_record(relation, v)
            return False

        return get, spec, model

    def _leaf(self, path: str, op: str, value: Any) -> Predicate:
        get, spec, model = self._getter(path)
        ftype = spec["type"]
        relation = spec.get("relation")
        if op == "=?":
            if value is False or value is None:
                return lambda r: True
            op = "="
        if ftype == "datetime" and isinstance(value, str) and len(value) == 10:
            value += " 23:59:59" if op in (">", "<=") else " 00:00:00"
        if path.split(".")[-1] == "id" and relation is None:
            relation = model
            ftype = "many2one"
        if op in ("child_of", "parent_of") and relation:
            ids = [value] if isinstance(value, (int, str)) else list(value)
            if any(isinstance(i, str) for i in ids):
                ids = list(self.schema.name_ids(relation, "ilike", ids[0]))
            allowed = self.schema.descendants(relation, ids, parents=op == "parent_of")
            return self._membership(get, ftype, allowed, negate=False)
        if ftype in ("many2one", *_X2MANY) and relation and isinstance(value, str) and op not in (
                "like", "ilike", "=like", "=ilike", "not like", "not ilike"):
            # Odoo name_search semantics for a string compared to a relational field
            ids = self.schema.name_ids(relation, "=" if op in ("=", "!=", "in", "not in") else op, value)
            return self._membership(get, ftype, ids, negate=op in ("!=", "not in"))
        if op in ("in", "not in"):
            vals = value if isinstance(value, (list, tuple)) else [value]
            with_null = any(v is False or v is None for v in vals)
            allowed = {v for v in vals if v is not False and v is not None}
            if ftype in ("many2one", *_X2MANY) and any(isinstance(v, str) for v in allowed):
                ids: set[Any] = set()
                for v in allowed:
                    ids |= self.schema.name_ids(relation, "=", v) if isinstance(v, str) else {v}
                allowed = ids
            pred = self._membership(get, ftype, allowed, negate=False, with_null=with_null)
            return (lambda r: not pred(r)) if op == "not in" else pred
        if op in ("=", "!="):
            if value is False or value is None:
                if ftype == "boolean":
                    pred = lambda r: not get(r)  # noqa: E731
                else:
                    pred = lambda r: _is_null(get(r))  # noqa: E731
            elif ftype in _X2MANY:
                pred = lambda r: value in (get(r) or [])  # noqa: E731
            else:
                pred = lambda r: get(r) == value  # noqa: E731
            return (lambda r: not pred(r)) if op == "!=" else pred
        if op in ("<", "<=", ">", ">="):
            cmp = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
                   ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}[op]

            def compare(r: Record) -> bool:
                v = get(r)
                if v is False or v is None or isinstance(v, list):
                    return False
                try:
                    return bool(cmp(v, value))
                except TypeError:
                    return False

            return compare
        # like family
        negate = op.startswith("not ")
        base_op = op.removeprefix("not ")
        rx = _like_regex(str(value), wrap=not base_op.startswith("="), icase="ilike" in base_op)
        schema = self.schema

        def like(r: Record) -> bool:
            v = get(r)
            if ftype == "many2one" and relation and isinstance(v, int) and not isinstance(v, bool):
                v = schema.display_name(relation, v)
            elif ftype in _X2MANY:
                return any(rx.match(schema.display_name(relation, i)) for i in (v or []))
            if v is False or v is None:
                return False
            return rx.match(str(v)) is not None

        return (lambda r: not like(r)) if negate else like

    @staticmethod
    def _membership(get: Callable[[Record], Any], ftype: str, allowed: set[Any], negate: bool,
                    with_null: bool = False) -> Predicate:
        if ftype in _X2MANY:
            def pred(r: Record) -> bool:
                v = get(r) or []
                return bool(allowed.intersection(v)) or (with_null and not v)
        else:
            def pred(r: Record) -> bool:
                v = get(r)
                if v is False or v is None:
                    return with_null
                try:
                    return v in allowed
                except TypeError:
                    return False
        return (lambda r: not pred(r)) if negate else pred


def parse_order(order: str | None, check: Callable[[str], None]) -> list[tuple[str, bool]]:
    """'date_order desc, id' -> [('date_order', True), ('id', False)]."""
    out = []
    for part in (order or "").split(","):
        words = part.strip().split()
        if not words:
            continue
        if len(words) > 3 or (len(words) > 1 and words[1].lower() not in ("asc", "desc")):
            raise ValueError(f"Invalid \"order\" specified ({order}).")
        fname = words[0].strip('"')
        check(fname)
        out.append((fname, len(words) > 1 and words[1].lower() == "desc"))
    return out


def sort_records(records: list[Record], order: list[tuple[str, bool]]) -> list[Record]:
    """Stable multi-key sort; NULLs last ascending and first descending, like PostgreSQL."""
    out = list(records)
    for fname, desc in reversed(order):
        def key(r: Record, f: str = fname) -> tuple[bool, Any]:
            v = r.get(f, False)
            if isinstance(v, list):
                v = v[0] if v else False
            return (v is False or v is None, 0 if v is False or v is None else v)

        try:
            out.sort(key=key, reverse=desc)
        except TypeError:
            out.sort(key=lambda r, f=fname: str(r.get(f)), reverse=desc)
    return out
