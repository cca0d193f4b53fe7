"""pandas, installed for a dependency and used by nothing, is kept out of a run's process."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.support.new_process import python_c, run_sample
from wiredesk.pipelines.unused_modules import HiddenModules


def test_the_finder_says_not_installed_for_the_named_packages_only() -> None:
    finder = HiddenModules(["pandas"])
    for name in ("pandas", "pandas.core.api"):
        with pytest.raises(ModuleNotFoundError) as caught:
            finder.find_spec(name)
        assert caught.value.name == name
    for name in ("pandasx", "pyarrow", "country_converter", "apache_beam.io"):
        assert finder.find_spec(name) is None


def test_hiding_in_a_fresh_process_and_what_still_works() -> None:
    """Beam, pyarrow's tables and Parquet, and the country data work without pandas."""
    done = python_c(
        """
        import importlib.util, io, json, sys
        from wiredesk.pipelines.unused_modules import hide_unused_modules
        first, again = hide_unused_modules(), hide_unused_modules()
        import apache_beam
        import pyarrow as pa, pyarrow.parquet as pq
        sink = io.BytesIO()
        pq.write_table(pa.Table.from_pylist([{"a": 1}]), sink)
        try:
            import pandas
            blocked = False
        except ModuleNotFoundError:
            blocked = True
        print(json.dumps({
            "first": first, "again": again, "blocked": blocked,
            "pandas_loaded": "pandas" in sys.modules,
            "coco_found": importlib.util.find_spec("country_converter") is not None,
            "parquet_bytes": len(sink.getvalue()),
        }))
        """
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["first"] is True and seen["again"] is False
    assert seen["blocked"] and not seen["pandas_loaded"]
    assert seen["coco_found"] and seen["parquet_bytes"] > 0


def test_a_process_that_has_pandas_keeps_it() -> None:
    done = python_c(
        """
        import sys
        import pandas
        from wiredesk.pipelines.unused_modules import hide_unused_modules
        print(hide_unused_modules(), "pandas" in sys.modules)
        """
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["False", "True"]


def test_the_run_command_hides_pandas_and_writes_the_same_rows(tmp_path: Path) -> None:
    """The command's entry (``console``) hides it; ``main``, which tests call, does not."""
    out_console, out_main = tmp_path / "console", tmp_path / "main"
    via_main = run_sample("main", out_main)
    assert (via_main["rc"], via_main["pandas_loaded"]) == (0, True)
    via_console = run_sample("console", out_console)
    assert (via_console["rc"], via_console["pandas_loaded"]) == (0, False)

    def rows(out: Path, table: str) -> list[tuple[object, ...]]:
        # Not the URLs and story ids: each run's outlets listen on ports of their own.
        query = (
            "SELECT title, content_hash, published_at, language, agency, country, date, "
            f"region, word_count FROM read_parquet('{out}/{table}/**/*.parquet', "
            "hive_partitioning=true) ORDER BY ALL"
        )
        return duckdb.sql(query).fetchall()

    articles = rows(out_console, "articles")
    assert articles and articles == rows(out_main, "articles")


def test_the_dataflow_graphs_translate_with_pandas_hidden() -> None:
    """``wiredesk run --runner DataflowRunner`` hides it too: the launcher's translation
    (the dry runs of tests/test_dataflow_dry_run.py) needs no pandas."""
    pytest.importorskip("apitools", reason="needs the gcp extra (in the test extra)")
    done = python_c(
        """
        import sys
        import pytest
        from wiredesk.pipelines.unused_modules import hide_unused_modules
        assert hide_unused_modules()
        code = pytest.main(["-q", "-p", "no:cacheprovider",
                            "tests/test_dataflow_dry_run.py::test_batch_graph_translates_for_dataflow",
                            "tests/test_dataflow_dry_run.py::test_streaming_graph_translates_for_dataflow"])
        print("exit", int(code), "pandas" in sys.modules)
        """
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "exit 0 False"
