"""The notebooks in notebooks/ are committed without outputs, and the README lists them.

pytest runs each notebook through nbmake (``--nbmake`` and ``testpaths`` in pyproject.toml);
these tests only read the files, so that a notebook saved with its outputs (figures,
timings, execution counts) is caught before it makes the git history noisy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped_of_outputs_and_execution_counts(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    dirty = [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code"
        and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} have outputs or execution counts; clear them before "
        f"committing (Jupyter: Edit > Clear Outputs of All Cells, then save; or "
        f"`jupyter nbconvert --clear-output --inplace notebooks/{path.name}`)"
    )
    assert "widgets" not in nb.get("metadata", {}), f"{path.name}: widget state saved"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_in_the_python3_kernel_and_starts_with_a_title(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    first = nb["cells"][0]
    assert first["cell_type"] == "markdown" and "".join(first["source"]).startswith("# ")


def test_the_readme_names_every_notebook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in NOTEBOOKS if f"notebooks/{p.name}" not in readme]
    assert not missing, f"README.md does not mention {missing}"
