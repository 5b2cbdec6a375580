"""Imports run one way: the layers written in docs/architecture.md, checked over every import in service/ and geo/."""
import ast
import re
from pathlib import Path

from tests.support.paths import ROOT

WEB_MODULES = {"views", "api", "cli"}  # every area's entry points: the `web` line of the list


def layers() -> list[set[str]]:
    """The layers of docs/architecture.md, lowest first: each a set of package names (or "web")."""
    block = re.search(r"```layers\n(.*?)```", (ROOT / "docs/architecture.md").read_text(), re.S)[1]
    found = []
    for line in block.splitlines():
        if line and not line.startswith(" "):
            found.append(set(line.split("  ")[0].split()))
    return found


def modules() -> dict[str, Path]:
    found = {}
    for top in ("service", "geo"):
        for path in sorted((ROOT / top).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def place(module: str, stack: list[set[str]]) -> tuple[int, str]:
    """Return (layer index, package) of a module: its longest listed package, or `web` for an entry point."""
    parts = module.split(".")
    if len(parts) > 2 and parts[-1] in WEB_MODULES:
        return next(i for i, layer in enumerate(stack) if "web" in layer), "web:" + module
    best = None
    for i, layer in enumerate(stack):
        for package in layer - {"web"}:
            inside = module.startswith(package + ".") and (package != "service" or len(parts) == 2)
            if (module == package or inside) and (best is None or len(package) > len(best[1])):
                best = (i, package)
    assert best is not None, f"{module} is in no layer of docs/architecture.md"
    return best


def imports(module: str, path: Path, known: dict[str, Path]):
    """Yield (line, imported module) for every import of service/geo code in a file, in functions too."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for name in names:
            while name not in known and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in known and name != module:
                yield node.lineno, name


def upward_imports() -> list[str]:
    stack, known = layers(), modules()
    found = []
    for module, path in known.items():
        here, own = place(module, stack)
        for line, target in imports(module, path, known):
            there, theirs = place(target, stack)
            same = own == theirs or (own.startswith("web:") and theirs.startswith("web:")
                                     and own.split(".")[:2] == theirs.split(".")[:2])
            if there > here or (there == here and not same and not own.startswith("web:")):
                where = "a peer" if there == here else "a layer above"
                found.append(f"{path.relative_to(ROOT)}:{line} imports {target}, {where}")
    return found


def test_no_module_imports_upward_or_from_a_peer():
    assert upward_imports() == []


def test_the_largest_circle_is_at_most_three_modules():
    known = modules()
    graph = {m: {t for _line, t in imports(m, p, known)} for m, p in known.items()}
    index, low, on_stack, stack, circles, counter = {}, {}, set(), [], [], [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            circles.append(component)

    for v in graph:
        if v not in index:
            visit(v)
    largest = max(circles, key=len)
    assert len(largest) <= 3, sorted(largest)


def test_domain_modules_name_what_went_wrong_and_leave_the_status_to_errors_py():
    """Only the web layer (views, API, CLI, service/web/) and errors.py itself say an HTTP status: a domain module
    raises a Refused kind (Invalid, NotFound, ...) and service/core/errors.py's STATUS maps it, in one place."""
    stated = []
    for module, path in modules().items():
        parts = module.split(".")
        if parts[-1] in WEB_MODULES or module.startswith("service.web") or module in (
                "service.core.errors", "service"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "ApiError":
                stated.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert stated == [], stated


def test_every_refusal_kind_has_its_status():
    from service.core import errors

    kinds = {k for k in vars(errors).values()
             if isinstance(k, type) and issubclass(k, errors.Refused) and k is not errors.Refused}
    assert kinds == set(errors.STATUS), kinds ^ set(errors.STATUS)
    for kind, status in errors.STATUS.items():
        refused = kind("code", "消息")
        assert (refused.status, refused.code, refused.message) == (status, "code", "消息")
        assert isinstance(refused, errors.ApiError)  # caught and answered like every refusal


def test_entry_points_never_commit():
    """One rule for who commits (docs/architecture.md, Who commits): the domain function that completes a change
    commits it; a view, an API handler or a CLI command only calls it, so the CLI, the workers and the web commit
    the same change the same way."""
    committed = []
    for module, path in modules().items():
        if module.split(".")[-1] not in WEB_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "commit":
                committed.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert committed == [], committed
    assert len([m for m in modules() if m.split(".")[-1] in WEB_MODULES]) > 20  # the check saw the entry points


def test_views_answer_html_and_api_modules_json():
    """views.py holds an area's pages, api.py its JSON (and binary) answers, in every area package."""
    wrong = []
    for module, path in modules().items():
        kind = module.split(".")[-1]
        if kind not in ("views", "api"):
            continue
        calls = {getattr(n.func, "id", getattr(n.func, "attr", "")) for n in ast.walk(ast.parse(path.read_text()))
                 if isinstance(n, ast.Call)}
        if kind == "views" and "jsonify" in calls or kind == "api" and "render_template" in calls:
            wrong.append(str(path.relative_to(ROOT)))
    assert wrong == []
