"""Every notebook, of both editions (notebooks/ and the Chinese notebooks/zh/), is stored executed and follows
the course's conventions.

nbval compares stored outputs with fresh ones; these checks make sure there is
something to compare (a notebook that silently did not run cannot pass).
"""

import json
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "notebooks").glob("zh/*.ipynb"))
IDS = [p.relative_to(ROOT / "notebooks").with_suffix("").as_posix() for p in NOTEBOOKS]


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks under notebooks/"
    assert NOTEBOOKS[0].stem == "00_start_here"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_code_cell_was_executed_in_order(path):
    nb = nbformat.read(path, as_version=4)
    cells = _code_cells(nb)
    assert cells, f"{path.name} has no code cells"
    unexecuted = [i for i, c in enumerate(cells) if c.execution_count is None]
    assert not unexecuted, f"{path.name}: code cells {unexecuted} were never executed; run `make notebooks`"
    counts = [c.execution_count for c in cells]
    assert counts == list(range(1, len(cells) + 1)), f"{path.name} was not run top to bottom in one kernel"
    assert sum(len(c.outputs) for c in cells) > 0, f"{path.name} has no stored outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_stored_errors(path):
    nb = nbformat.read(path, as_version=4)
    for cell in _code_cells(nb):
        for output in cell.outputs:
            assert output.output_type != "error", f"{path.name} stores an error: {output.get('ename')}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_metadata_and_setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.metadata.get("coursekit", {}).get("notebook") == path.stem
    first = _code_cells(nb)[0].source
    assert "import coursekit" in first and "coursekit.device()" in first and "coursekit.seed(" in first


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_each_exercise_cell_is_followed_by_its_check(path):
    from coursekit.exercises import by_notebook

    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    exercise_cells = [i for i, c in enumerate(cells) if "exercise" in c.metadata.get("tags", [])]
    expected_ids = {e.id for e in by_notebook(path.stem)}
    found = set()
    for i in exercise_cells:
        assert i + 1 < len(cells) and "check(" in cells[i + 1].source, \
            f"{path.name}: the exercise cell {cells[i].source[:40]!r} is not followed by a check cell"
        assert "NotImplementedError" in cells[i].source or "= None" in cells[i].source, \
            f"{path.name}: exercise cells are stored unanswered"
        found |= {ex for ex in expected_ids if f"def {ex}(" in cells[i].source or f"{ex} = None" in cells[i].source}
    assert found == expected_ids, f"{path.name}: exercises without a cell: {sorted(expected_ids - found)}"
    if path.stem != "00_start_here":
        assert len(exercise_cells) >= 4, f"{path.name} has {len(exercise_cells)} exercises; the course wants 4+"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_trailing_semicolon_to_hide_values(path):
    # nbval runs cells with store_history=False, where IPython does not honour a trailing `;`
    nb = nbformat.read(path, as_version=4)
    for cell in _code_cells(nb):
        last = cell.source.rstrip().splitlines()[-1]
        assert not last.rstrip().endswith(";"), f"{path.name}: cell ends with ';': {last!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stored_as_make_notebooks_leaves_it(path):
    """Nothing that changes between runs, and the kernelspec JupyterLab itself would write."""
    from jupyter_client.kernelspec import KernelSpecManager

    from coursekit.notebooks import WIDGET_VIEW

    nb = json.loads(path.read_text())
    installed = KernelSpecManager().get_kernel_spec("python3").display_name
    assert nb["metadata"]["kernelspec"]["display_name"] == installed
    assert "widgets" not in nb["metadata"]
    for cell in nb["cells"]:
        assert "execution" not in cell["metadata"]
        for output in cell.get("outputs", []):
            assert WIDGET_VIEW not in output.get("data", {}), f"{path.name}: a stored widget view (text on opening)"


def test_make_notebooks_twice_changes_no_byte(tmp_path):
    from coursekit.notebooks import execute_notebook

    cells = [nbformat.v4.new_code_cell("import coursekit\nfrom coursekit.widgets import TemperatureExplorer\n"
                                       "coursekit.seed(0)\nimport torch\nprint(torch.randn(3))"),
             nbformat.v4.new_code_cell("from IPython.display import display\ndisplay(TemperatureExplorer().widget())")]
    path = tmp_path / "demo.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "display_name": "Python 3", "language": "python", "name": "python3"}}), path)
    execute_notebook(path)
    first = path.read_bytes()
    execute_notebook(path)
    assert path.read_bytes() == first
    assert b"image/png" in first and b"widget-view" not in first
