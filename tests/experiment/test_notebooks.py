"""The notebooks: stored with their outputs, executed top to bottom headless
with ipywidgets present (marker: notebooks), and the what-if tool fast enough
to be interactive."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient

from conftest import REPO, subprocess_env

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
KNOBS = ("rate", "hpa_target", "min_replicas", "max_replicas", "attempts", "jitter", "timeout_ms", "breaker")


@pytest.fixture(scope="module")
def kernel() -> str:
    """The python3 kernelspec, installed for this user if missing (fresh CI machines)."""
    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--user", "--name", "python3"],
                       check=True, capture_output=True)
    return "python3"


def _code(book) -> list:
    return [cell for cell in book.cells if cell.cell_type == "code"]


def test_there_are_notebooks_stored_with_outputs():
    assert {p.stem for p in NOTEBOOKS} >= {"what-if", "backoff-policies", "hpa-tuning"}
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        cells = _code(book)
        assert all(cell.get("execution_count") for cell in cells), f"{path.name}: not executed"
        figures = [o for cell in cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        assert figures, f"{path.name}: stored without its figures"
        assert not [o for cell in cells for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def test_what_if_has_a_control_for_every_knob():
    source = "\n".join(cell.source for cell in _code(nbformat.read(REPO / "notebooks" / "what-if.ipynb", 4)))
    assert "widgets.interactive(show" in source
    for knob in KNOBS:
        assert f"{knob}=widgets." in source, knob


def test_what_if_knobs_reach_the_scenario_and_rerun_in_seconds():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import sim.plots
    from sim.experiment import whatif

    changed = whatif.scenario(rate=100, hpa_target=50, min_replicas=3, max_replicas=6, attempts=1,
                              jitter="none", timeout_ms=150, breaker=False)
    svc = changed.services[whatif.SERVICE]
    metric = svc.hpa.metrics[0].resource.target
    assert (metric.averageUtilization, svc.hpa.minReplicas, svc.hpa.maxReplicas, svc.replicas) == (50, 3, 6, 3)
    call = svc.calls[0]
    assert call.retry.max_attempts == 1 and call.retry.backoff.jitter == "none"
    assert call.timeout == pytest.approx(0.15) and call.circuit_breaker is None
    assert changed.duration == 300.0
    assert whatif.scenario().services[whatif.SERVICE].calls[0].circuit_breaker is not None
    with pytest.raises(TypeError, match="unknown knob"):
        whatif.overrides(colour="red")
    started = time.perf_counter()
    result = whatif.run(rate=80)
    figure = sim.plots.timeline(result, service=whatif.SERVICE, figsize=(10, 9))
    figure.canvas.draw()
    plt.close(figure)
    elapsed = time.perf_counter() - started
    assert elapsed < 10.0, f"one what-if rerun took {elapsed:.1f} s"
    assert whatif.headline(result.summary)["requests"] > 0


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path: Path, kernel: str, monkeypatch):
    import ipywidgets  # noqa: F401  (the widgets must be importable, as in the kernel)
    for key, value in subprocess_env().items():       # the kernel imports the same `sim`
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(book, kernel_name=kernel, timeout=600,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = [output for cell in book.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert not errors
    assert all(cell.get("execution_count") for cell in _code(book))
