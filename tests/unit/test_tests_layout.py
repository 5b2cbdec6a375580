"""The suite's own layout (issue 28): tests sit in folders by what they need, and share code only through
tests/support, so moving, renaming or deleting one test module never breaks another."""
import ast
from types import SimpleNamespace

import pytest

from tests import conftest
from tests.support.paths import ROOT

TESTS = ROOT / "tests"
FOLDERS = {"unit", "db", "http", "browser", "system"}
DYNAMIC = {"__import__", "import_module"}


def imported_modules(path):
    """Every module a file imports: statements, and __import__/import_module calls with a literal name."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in DYNAMIC:
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                yield node.args[0].value
            else:
                yield "<computed name>"
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield ("." * node.level) + node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)


def test_no_module_imports_a_test_module():
    wrong = []
    for path in sorted([*TESTS.rglob("*.py"), *(ROOT / "bench").rglob("*.py")]):
        for name in imported_modules(path):
            if name == "<computed name>" or any(part.startswith("test_") for part in name.lstrip(".").split(".")):
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
            if name.startswith("tests.") and not name.startswith(("tests.support", "tests.conftest")):
                wrong.append(f"{path.relative_to(ROOT)} imports {name}, which is not in tests/support")
    assert wrong == []


def test_every_test_module_is_in_a_folder_that_says_what_it_needs():
    placed = {p.relative_to(TESTS).parts[0] for p in TESTS.rglob("test_*.py")}
    assert placed <= FOLDERS and not list(TESTS.glob("test_*.py"))
    assert set(conftest.FOLDER_REFUSES) <= FOLDERS


@pytest.mark.parametrize(("folder", "fixtures", "refused"), [
    ("unit", ["tmp_path"], None),
    ("unit", ["app", "tmp_path"], "app"),
    ("db", ["app", "owner_engine"], None),
    ("db", ["http", "live_server"], "live_server"),
    ("http", ["live_server"], None),
    ("http", ["open_page", "browser"], "browser"),
    ("browser", ["browser", "live_server"], None),
    ("system", ["app", "live_server", "browser"], None),
])
def test_a_test_that_needs_more_than_its_folder_has_stops_the_run(folder, fixtures, refused):
    item = SimpleNamespace(path=TESTS / folder / "test_x.py", fixturenames=fixtures,
                           nodeid=f"tests/{folder}/test_x.py::t")
    if refused is None:
        conftest.pytest_collection_modifyitems(None, [item])
    else:
        with pytest.raises(pytest.UsageError, match=f"uses {refused}, which tests/{folder}/ does not have"):
            conftest.pytest_collection_modifyitems(None, [item])
