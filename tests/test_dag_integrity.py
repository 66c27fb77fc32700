"""Every DAG imports cleanly and follows the team's rules (tags, owner, retries, docs, no top-level work)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import pytest
from airflow.dag_processing.dagbag import DagBag

from tests.airflow_env import REPO

APPROVED_TAGS = {"nk-dash", "odoo", "pos"}
TASKS = ["extract", "save_raw", "clean", "load_fact", "upsert_dims"]


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(REPO / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "nk_dash_daily" in dagbag.dags


def test_tags_owner_retries_and_docs(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags and set(dag.tags) <= APPROVED_TAGS, dag_id
        assert dag.doc_md, dag_id
        for task in dag.tasks:
            assert task.retries >= 2, f"{dag_id}.{task.task_id} retries"
            assert task.owner not in ("", "airflow"), f"{dag_id}.{task.task_id} owner"


def test_task_ids_and_order_are_the_public_contract(dagbag):
    dag = dagbag.dags["nk_dash_daily"]
    assert set(TASKS) <= set(dag.task_ids)
    for upstream, downstream in zip(TASKS, TASKS[1:], strict=False):
        assert downstream in dag.get_task(upstream).get_flat_relative_ids(upstream=False)
    # The gates sit between loading and publishing.
    for gate in ("check_fact_columns", "check_fact_table"):
        assert gate in dag.get_task("upsert_dims").downstream_task_ids
        assert "publish" in dag.get_task(gate).downstream_task_ids
    assert "reload_late_changes" in dag.get_task("publish").downstream_task_ids


def test_schedule_is_0200_store_time_over_business_days(dagbag):
    from nk_dash_timetable import BusinessDayTimetable

    timetable = dagbag.dags["nk_dash_daily"].timetable
    assert isinstance(timetable, BusinessDayTimetable) or type(timetable).__name__ == "BusinessDayTimetable"
    assert "02:00" in timetable.summary


def test_dag_file_parses_fast_without_heavy_imports():
    code = (
        "import sys, time; t=time.perf_counter(); sys.path[:0]=['dags','plugins','.'];"
        "import nk_dash_daily; print(time.perf_counter()-t);"
        "print(','.join(m for m in ('pandas','duckdb','pyarrow','odoorpc') if m in sys.modules))"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    seconds, heavy = out.stdout.split("\n")[:2]
    assert heavy == "", f"DAG file imports {heavy} at parse time"
    print(f"DAG file import: {float(seconds):.2f} s (process {time.perf_counter() - start:.2f} s)")


def test_missing_plugins_folder_fails_with_a_message_that_says_so():
    """Tried in an existing Airflow: without NK Dash's plugins the DAG must say what to configure."""
    code = "import sys; sys.path[:0]=['dags','.']; import nk_dash_daily"
    # an Airflow of its own: its plugins folder is $AIRFLOW_HOME/plugins, which has no NK Dash plugin
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW__CORE__PLUGINS_FOLDER"}
    env["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="nk-dash-foreign-airflow-")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=env)
    assert out.returncode != 0
    assert "AIRFLOW__CORE__PLUGINS_FOLDER" in out.stderr and "plugins/" in out.stderr
    assert "nk_dash_timetable not found" in out.stderr


def test_dag_loads_in_an_airflow_of_its_own_with_the_folders_copied_as_the_readme_says(tmp_path):
    """README 'Running NK Dash in an Airflow you already have': copy dags/ and plugins/, put include/ on the path."""
    import shutil

    home = tmp_path / "airflow"
    shutil.copytree(REPO / "dags", home / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "plugins", home / "plugins", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "include", tmp_path / "nk_dash" / "include", ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(home), PYTHONPATH=str(tmp_path / "nk_dash"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    code = (
        "from airflow.dag_processing.dagbag import DagBag; import os;"
        "b = DagBag(dag_folder=os.environ['AIRFLOW_HOME'] + '/dags');"
        "print(sorted(b.dags), b.import_errors)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "['nk_dash_daily', 'nk_dash_weekly_summary'] {}"
