"""Where a library raised: the one-line error text a failed trial records."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from gentune.raised_where import error_text


@pytest.fixture
def libraries(tmp_path: Path, monkeypatch):
    """Two installed-looking libraries: ``outer_lib.call`` runs ``inner_lib.check``, which
    raises (``through_python`` by way of heapq's Python code); ``outer_lib.own`` raises in its own
    code; ``outer_lib.train`` runs a callback, as a training loop runs gentune's monitor."""
    packages = tmp_path / "lib" / "python3" / "site-packages"
    (packages / "inner_lib").mkdir(parents=True)
    (packages / "outer_lib").mkdir()
    (packages / "inner_lib" / "__init__.py").write_text("")
    (packages / "inner_lib" / "checks.py").write_text(
        "def check(value):\n    raise ValueError(f'bad value {value}')\n")
    (packages / "outer_lib" / "__init__.py").write_text("")
    (packages / "outer_lib" / "early_stop.py").write_text(
        "from inner_lib.checks import check\n\n\ndef call(value):\n    return check(value)\n\n\n"
        "def own():\n    raise RuntimeError('diverged')\n\n\n"
        "def train(callback):\n    callback(1)\n\n\n"
        "def through_python(value):\n    import heapq\n"
        "    return heapq.nsmallest(1, [value], key=check)\n")
    monkeypatch.syspath_prepend(str(packages))
    yield importlib.import_module("outer_lib.early_stop")
    for name in ("outer_lib", "outer_lib.early_stop", "inner_lib", "inner_lib.checks"):
        sys.modules.pop(name, None)


def _raised(function, *args) -> str:
    try:
        function(*args)
    except Exception as exc:
        return error_text(exc)
    raise AssertionError("it did not raise")


def test_a_check_one_library_makes_for_another_names_both(libraries) -> None:
    assert _raised(libraries.call, 3) == (
        "ValueError: bad value 3 (raised in inner_lib: checks.py, line 2, called from "
        "outer_lib: early_stop.py, line 5)")


def test_a_library_raising_in_its_own_code_is_named_alone(libraries) -> None:
    assert _raised(libraries.own) == \
        "RuntimeError: diverged (raised in outer_lib: early_stop.py, line 9)"


def test_an_error_outside_libraries_is_its_type_and_text() -> None:
    def fails() -> None:
        raise KeyError("column")

    assert _raised(fails) == "KeyError: 'column'"


def test_a_standard_library_frame_between_two_libraries_is_passed_over(libraries) -> None:
    assert _raised(libraries.through_python, 4) == (
        "ValueError: bad value 4 (raised in inner_lib: checks.py, line 2, called from "
        "outer_lib: early_stop.py, line 18)")


def test_an_error_of_our_own_callback_run_by_a_library_names_no_library(libraries) -> None:
    def monitor(epoch: int) -> None:
        raise KeyError(f"epoch {epoch}")

    def monitor_calling_python(epoch: int) -> None:
        import json

        json.loads("{not json")

    assert _raised(libraries.train, monitor) == "KeyError: 'epoch 1'"
    assert _raised(libraries.train, monitor_calling_python).startswith("JSONDecodeError: ")
    assert "raised in" not in _raised(libraries.train, monitor_calling_python)

