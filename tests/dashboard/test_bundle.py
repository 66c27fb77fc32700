"""What the browser downloads: compressed responses and the partial Plotly.js bundle (issue 10).

The page must never fetch plotly.py's full `plotly.min.js` (4.8 MB): `dcc.Graph` gets the
vendored cartesian bundle instead, and every trace type the dashboard draws is in it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import plotly
import pytest
from test_dashboard_browser import _ARGS, _WAIT_MS, CHROMIUM, start_dashboard

from dashboard import delivery

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "dashboard" / "assets"
BUNDLE = ASSETS / delivery.PLOTLY_BUNDLE
FULL = Path(plotly.__file__).with_name("package_data") / "plotly.min.js"
_TRACE = re.compile(r'moduleType:"trace",name:"(\w+)"')
_HEADER = re.compile(r"plotly\.js(?: \([a-z -]+\))? v(\d+\.\d+\.\d+)")
_ENCODINGS = {"zstd", "br", "gzip", "deflate"}
# plotly.express functions whose traces the cartesian bundle draws (any other px.* is reported).
_PX_CARTESIAN = {
    *("scatter", "line", "area", "bar", "timeline", "histogram", "box", "violin", "strip", "ecdf", "pie"),
    *("density_heatmap", "density_contour", "imshow", "scatter_ternary", "line_ternary"),
}


def _traces(bundle: Path) -> set[str]:
    return set(_TRACE.findall(bundle.read_text(encoding="utf-8")))


def _trace_types_in_code() -> set[str]:
    """Trace types the dashboard's code names: `{"type": "bar"}`, `dict(type="bar")`, `go.Bar`, `px.*`."""
    known = _traces(FULL)
    found: set[str] = set()
    for path in (REPO / "dashboard").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if (
                        isinstance(key, ast.Constant)
                        and key.value == "type"
                        and isinstance(value, ast.Constant)
                        and value.value in known
                    ):
                        found.add(value.value)
            elif isinstance(node, ast.keyword) and node.arg == "type" and isinstance(node.value, ast.Constant):
                if node.value.value in known:  # dict(type="bar", ...)
                    found.add(node.value.value)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "go":
                if node.attr.lower() in known:
                    found.add(node.attr.lower())
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                f = node.func  # px.sunburst(...): not in the bundle, the test below names it
                if isinstance(f.value, ast.Name) and f.value.id == "px" and f.attr not in _PX_CARTESIAN:
                    found.add(f"px.{f.attr}")
    return found


def test_the_vendored_bundle_is_the_plotly_js_of_plotly_py() -> None:
    vendored = _HEADER.search(BUNDLE.read_text(encoding="utf-8")[:300])
    full = _HEADER.search(FULL.read_text(encoding="utf-8")[:300])
    assert vendored and full
    assert vendored.group(1) == full.group(1), "plotly was upgraded: vendor the matching cartesian bundle"
    assert BUNDLE.name == f"plotly-cartesian-{full.group(1)}.min.js"
    assert (ASSETS / "vendor" / "LICENSE-plotly.js.txt").read_text().startswith("MIT License")
    assert delivery.PLOTLY_BUNDLE in (ASSETS / "plotly_bundle.js").read_text()


def test_every_trace_type_the_dashboard_draws_is_in_the_bundle() -> None:
    used = _trace_types_in_code()
    assert {"scatter", "bar", "heatmap"} <= used  # the scan finds the overview's figures
    assert used <= _traces(BUNDLE), f"not in the cartesian bundle: {used - _traces(BUNDLE)}"


@pytest.fixture(scope="module")
def client(fake_lake: Path, monkeypatch_module: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch_module.setenv("DATA_LAKE_PATH", str(fake_lake))
    from dashboard.app import create_app

    return create_app().server.test_client()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _get(client, url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:  # noqa: ANN001
    with client.get(url, headers=headers) as response:
        return response.status_code, dict(response.headers), response.get_data()


def test_scripts_are_compressed_and_revalidated(client) -> None:  # noqa: ANN001
    status, _, body = _get(client, "/")
    assert status == 200
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', body.decode())
    assert len(scripts) >= 5
    assert not [s for s in scripts if "plotly.min.js" in s or "plotly-cartesian" in s]  # loaded by dcc.Graph
    bundle = f"/assets/{delivery.PLOTLY_BUNDLE}"
    for url in [*scripts, bundle]:
        # Chromium, Firefox over HTTPS, Firefox over HTTP (assets are streamed: deflate, not gzip).
        for accepted, expected in (
            ("gzip, deflate, br, zstd", {"zstd"}),
            ("gzip, deflate, br", {"br"}),
            ("gzip, deflate", {"gzip", "deflate"}),
        ):
            status, headers, _ = _get(client, url, **{"Accept-Encoding": accepted})
            assert status == 200, url
            assert headers.get("Content-Encoding") in expected, (url, accepted, headers)
    status, headers, packed = _get(client, bundle, **{"Accept-Encoding": "br"})
    assert len(packed) < BUNDLE.stat().st_size / 2
    etag = headers["ETag"]
    status, _, _ = _get(client, bundle, **{"Accept-Encoding": "br", "If-None-Match": etag})
    assert status == 304  # a revisit does not download the bundle again


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fake_lake: Path) -> Iterator[str]:
    yield from start_dashboard(tmp_path_factory, fake_lake)


@pytest.mark.browser
@pytest.mark.e2e
def test_the_browser_draws_every_chart_with_the_partial_bundle(server: str) -> None:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type in ("error", "warning") else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        responses = []
        page.on("response", lambda r: responses.append(r))
        page.goto(server)
        # Every chart drew its marks: the trend's lines, the bars of the three bar charts, the heatmap.
        page.wait_for_function(
            """() => {
                const marks = (id, sel) => document.querySelectorAll('#' + id + ' ' + sel).length > 0;
                return marks('chart-trend', '.scatterlayer .trace path.js-line')
                    && ['chart-category-mix', 'chart-brand-mix', 'chart-stores']
                           .every(id => marks(id, '.barlayer .point path'))
                    && marks('chart-heatmap', '.heatmaplayer image');
            }""",
            timeout=_WAIT_MS,
        )
        assert page.evaluate("() => window.Plotly.version") == delivery.PLOTLY_BUNDLE.split("-")[-1][: -len(".min.js")]
        urls = [r.url for r in responses]
        assert not [u for u in urls if "plotly.min.js" in u], urls
        assert [u for u in urls if delivery.PLOTLY_BUNDLE in u]
        callbacks = [r for r in responses if "_dash-update-component" in r.url]
        assert callbacks
        scripts = [r for r in responses if r.request.resource_type == "script"]
        for r in callbacks + scripts:
            if r.status == 204:  # a callback with nothing to update (PreventUpdate): no body
                continue
            assert r.headers.get("content-encoding") in _ENCODINGS, (r.url, r.headers)
        # The chunks of assets/preload.js are fetched (one request each, then taken from the cache).
        hinted = page.evaluate("() => window.NKDASH_PRELOAD")
        assert hinted and all(any(u.endswith("/_dash-component-suites/" + c) for u in urls) for c in hinted)
        assert not [e for e in errors if "favicon" not in e], errors
        browser.close()


def test_the_preloaded_chunks_are_the_async_chunks_of_the_installed_packages() -> None:
    """assets/preload.js names lazily loaded chunks of Dash and dash-ag-grid: they must still exist
    under these names (an upgrade that renames one would make the hint fetch a 404 for nothing)."""
    import dash
    import dash_ag_grid

    hinted = re.findall(r'"((?:dash|dash_ag_grid)/[\w/-]+\.js)"', (ASSETS / "preload.js").read_text())
    assert len(hinted) == 4
    roots = {"dash": Path(dash.__file__).parent, "dash_ag_grid": Path(dash_ag_grid.__file__).parent}
    async_files = {
        f"dash/dcc/{Path(e['relative_package_path']).name}" for e in dash.dcc._js_dist if e.get("async") is True
    } | {f"dash_ag_grid/{e['relative_package_path']}" for e in dash_ag_grid._js_dist if e.get("async") is True}
    for chunk in hinted:
        package, rest = chunk.split("/", 1)
        assert (roots[package] / rest).is_file(), chunk
        assert chunk in async_files, chunk
