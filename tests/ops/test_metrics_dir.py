"""``switchboard serve`` with several workers prepares prometheus-client's multiprocess directory."""

from __future__ import annotations

from pathlib import Path

from ops.serving import prepare_multiproc_dir
from tests.support.app import make_settings


def test_the_default_directory_is_under_var_and_a_previous_runs_files_are_removed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, SWITCHBOARD_METRICS="true")
    first = Path(prepare_multiproc_dir(settings))
    assert first == (tmp_path / "var" / "prometheus").resolve()
    (first / "counter_123.db").write_bytes(b"x")
    (first / "keep.txt").write_text("not ours")
    assert Path(prepare_multiproc_dir(settings)) == first
    assert sorted(p.name for p in first.iterdir()) == ["keep.txt"]


def test_prometheus_multiproc_dir_is_used_when_set(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "shared"))
    assert Path(prepare_multiproc_dir(settings)) == (tmp_path / "shared").resolve()
