"""The docs hold to the tree: every path they name exists, every command they show runs, every setting is real.

`make docs-check` runs this file. It reads README.md and docs/**/*.md; it needs no database.
"""
import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from service import create_app
from tests.support.paths import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
TREE_PATH = re.compile(r"(?<![\w/.$-])((?:service|geo|bench|migrations|tests|static|\.ci)/[\w./-]*)")
CODE_SPAN = re.compile(r"(?<!`)`([^`]+)`(?!`)")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
LINK = re.compile(r"\]\(([^)\s]+)\)")
SETTING = re.compile(r"(?<![\w/-])[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+(?![\w/-])")
# Upper-case names the docs use that are not settings, and where each comes from.
NOT_SETTINGS = {"EVENT_HANDLERS": "cosmicpython's name for the table of subscriptions"}


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def prose(doc: str) -> str:
    """The text outside fenced blocks."""
    return FENCE.sub("", doc)


def code(doc: str) -> list[str]:
    """Every inline code span and every line of a fenced block."""
    spans = CODE_SPAN.findall(prose(doc))
    return spans + [line for _, block in FENCE.findall(doc) for line in block.splitlines()]


def shell_lines(doc: str) -> list[str]:
    """Lines of ```sh/```bash blocks and inline code spans that run hazard-snap or make."""
    lines = [line for lang, block in FENCE.findall(doc) if lang in ("sh", "bash") for line in block.splitlines()]
    return lines + [" ".join(span.split()) for span in CODE_SPAN.findall(prose(doc))]


def hazard_snap_calls(doc: str) -> list[list[str]]:
    """The words after each `hazard-snap` in the commands a doc shows, up to a comment or a pipe."""
    calls = []
    for line in shell_lines(doc):
        for found in re.finditer(r"(?:^|[\s/(])hazard-snap((?:\s+[^\s#|;&)]+)*)", line):
            words = [w.strip("[]") for w in found[1].split()]
            if words and not words[0].startswith("<"):
                calls.append(words)
    return calls


def test_every_path_the_docs_name_exists():
    missing = []
    for path in DOCS:
        for found in TREE_PATH.findall(text(path)):
            name = found.rstrip(".")
            if not (ROOT / name).exists():
                missing.append(f"{relative(path)}: {name}")
    assert not missing, "the docs name paths that are not in the tree:\n" + "\n".join(missing)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_between_the_docs_leads_somewhere():
    broken = []
    for path in DOCS:
        for target in LINK.findall(prose(text(path))):
            if re.match(r"\w+:", target):
                continue  # http(s) and mailto: outside the tree
            name, _, anchor = target.partition("#")
            dest = (path.parent / name).resolve() if name else path
            if not dest.exists():
                broken.append(f"{relative(path)}: {target}")
            elif anchor and dest.suffix == ".md":
                anchors = {slug(h) for h in re.findall(r"^#+ (.+)$", prose(text(dest)), re.M)}
                if anchor not in anchors:
                    broken.append(f"{relative(path)}: {target} (no such heading)")
    assert not broken, "links that lead nowhere:\n" + "\n".join(broken)


def test_every_make_target_the_docs_show_exists():
    targets = set(re.findall(r"^([\w-]+):", text(ROOT / "Makefile"), re.M))
    shown = {m for path in DOCS for line in shell_lines(text(path)) for m in re.findall(r"(?:^|\s)make ([\w-]+)", line)}
    assert shown and shown <= targets, f"make targets the docs show but the Makefile lacks: {shown - targets}"


def test_every_bench_module_the_docs_run_exists():
    modules = {m for path in DOCS for m in re.findall(r"-m (bench\.\w+)", text(path))}
    assert modules
    missing = [m for m in modules if not (ROOT / (m.replace(".", "/") + ".py")).is_file()]
    assert not missing, f"bench modules the docs run that do not exist: {missing}"


@pytest.fixture(scope="module")
def cli():
    """The hazard-snap group as the app registers it (no database is touched by --help)."""
    app = create_app({"TESTING": True})
    return app.cli, app.test_cli_runner()


def resolve(group: click.Group, words: list[str]) -> tuple[list[str], click.Command]:
    """The command path a call names (`users create`, `db upgrade`), and its command."""
    path, command = [], group
    for word in words:
        if not isinstance(command, click.Group) or word not in command.commands:
            break
        path.append(word)
        command = command.commands[word]
    return path, command


def test_every_hazard_snap_command_the_docs_show_answers_help(cli):
    group, runner = cli
    seen, failures = set(), []
    for doc in DOCS:
        for words in hazard_snap_calls(text(doc)):
            if words[0].startswith("-"):
                continue  # `hazard-snap --help`: the entry point's own test below
            path, command = resolve(group, words)
            if not path:
                failures.append(f"{relative(doc)}: hazard-snap {' '.join(words)}: no such command")
                continue
            options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
            unknown = [w for w in words[len(path):] if w.startswith("--") and w.split("=")[0] not in options]
            if unknown:
                failures.append(f"{relative(doc)}: hazard-snap {' '.join(path)}: no option {unknown}")
            seen.add(tuple(path))
    for path in sorted(seen):
        result = runner.invoke(args=[*path, "--help"])
        if result.exit_code != 0:
            failures.append(f"hazard-snap {' '.join(path)} --help exited {result.exit_code}: {result.output}")
    assert len(seen) > 10 and not failures, "\n".join(failures)


def test_the_readme_names_every_command_group(cli):
    group, _ = cli
    readme = {words[0] for words in hazard_snap_calls(text(ROOT / "README.md"))}
    missing = sorted(set(group.commands) - readme)
    assert not missing, f"commands `hazard-snap --help` lists but the README's command line leaves out: {missing}"


def test_the_entry_point_lists_its_commands():
    exe = Path(sys.executable).with_name("hazard-snap")
    done = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HAZARD_ENV": "development"})
    assert done.returncode == 0, done.stderr
    assert "users" in done.stdout and "boundaries" in done.stdout


def config_settings() -> set[str]:
    """The environment variables service/core/config.py reads."""
    tree = ast.parse(text(ROOT / "service/core/config.py"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if called in ("env", "_int", "_float", "get") and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return names


def table_names(section: str) -> list[tuple[str, list[str]]]:
    """(row's first-cell names, the row's cells) of the table under a heading of docs/configuration.md."""
    body = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", text(ROOT / "docs/configuration.md"), re.S | re.M)
    assert body, f"docs/configuration.md has no section {section!r}"
    rows = []
    for line in body[1].splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows.append((SETTING.findall(cells[0]) + re.findall(r"`([A-Z]+)`", cells[0]), cells))
    return rows


def test_every_setting_of_config_is_in_the_configuration_doc():
    documented = {n for names, _ in table_names("The app's settings") for n in names}
    missing = sorted(config_settings() - documented)
    assert not missing, f"settings service/core/config.py reads that docs/configuration.md leaves out: {missing}"
    unknown = sorted(documented - config_settings())
    assert not unknown, f"docs/configuration.md lists settings service/core/config.py does not read: {unknown}"


def test_every_tool_variable_is_read_where_the_doc_says():
    wrong = []
    for names, cells in table_names("Variables of the scripts and tools"):
        where = ROOT / cells[1].strip("`")
        for name in names:
            if not where.is_file() or not re.search(rf"\b{name}\b", text(where)):
                wrong.append(f"{name}: not read by {cells[1]}")
    assert not wrong, "\n".join(wrong)


def test_every_setting_the_docs_name_exists():
    known = config_settings() | {n for names, _ in table_names("Variables of the scripts and tools") for n in names}
    unknown = []
    for path in DOCS:
        for span in code(text(path)):
            for name in SETTING.findall(span):
                if name not in known and name not in NOT_SETTINGS:
                    unknown.append(f"{relative(path)}: {name}")
    assert not unknown, "names that look like settings but are none:\n" + "\n".join(sorted(set(unknown)))


def test_the_readme_is_a_door():
    """At most ~150 lines, and a link to every page behind it."""
    readme = text(ROOT / "README.md")
    assert len(readme.splitlines()) <= 150, "the README grew past 150 lines: move the detail into docs/"
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in LINK.findall(readme)}
    unlinked = [relative(p) for p in DOCS[1:] if p.resolve() not in linked]
    assert not unlinked, f"docs the README does not link to: {unlinked}"
