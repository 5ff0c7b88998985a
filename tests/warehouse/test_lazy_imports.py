"""Modules deferred while a library imports them run on first use (warehouse.lazy_imports)."""

import subprocess
import sys
import textwrap

import pytest

from warehouse.lazy_imports import deferred


@pytest.fixture
def module_on_path(tmp_path, monkeypatch):
    """Makes a module that appends its name to `sys.logcast_probe_ran` when its code runs."""
    monkeypatch.setattr(sys, "logcast_probe_ran", [], raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(name: str) -> str:
        (tmp_path / f"{name}.py").write_text(
            textwrap.dedent(
                f"""
                import sys
                sys.logcast_probe_ran.append({name!r})
                ANSWER = 42
                """
            )
        )
        monkeypatch.delitem(sys.modules, name, raising=False)
        return name

    yield make


def test_a_deferred_module_runs_on_its_first_attribute_read(module_on_path):
    name = module_on_path("logcast_probe_deferred")
    with deferred([name]):
        module = __import__(name)
    assert sys.logcast_probe_ran == []  # imported, not run
    assert module.ANSWER == 42
    assert sys.logcast_probe_ran == [name]  # run once, on first use


def test_other_modules_and_imports_after_the_block_load_as_usual(module_on_path):
    other = module_on_path("logcast_probe_other")
    later = module_on_path("logcast_probe_later")
    with deferred(["logcast_probe_something_else"]):
        __import__(other)
    assert sys.logcast_probe_ran == [other]
    __import__(later)
    assert sys.logcast_probe_ran == [other, later]


@pytest.mark.e2e
def test_great_expectations_loads_without_running_altair():
    probe = textwrap.dedent(
        """
        import sys
        from warehouse.quality import load_great_expectations
        load_great_expectations()
        print("altair.vegalite" in sys.modules, "scipy.stats._stats_py" in sys.modules)
        import altair
        print(altair.__name__, "altair.vegalite" in sys.modules)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300
    )
    assert done.stdout.split() == ["False", "True", "altair", "True"]
