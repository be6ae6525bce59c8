"""Every notebook in notebooks/ executes top to bottom (marker: notebooks)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient

from conftest import REPO, subprocess_env

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def kernel() -> str:
    """The python3 kernelspec, installed for this user if missing (fresh CI machines)."""
    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--user", "--name", "python3"],
                       check=True, capture_output=True)
    return "python3"


def test_there_are_notebooks():
    assert {p.stem for p in NOTEBOOKS} >= {"what-if", "backoff-policies", "hpa-tuning"}


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path: Path, kernel: str, monkeypatch):
    for key, value in subprocess_env().items():       # the kernel imports the same `sim`
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(book, kernel_name=kernel, timeout=300,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = [output for cell in book.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert not errors
    assert all(cell.get("execution_count") for cell in book.cells if cell.cell_type == "code")
