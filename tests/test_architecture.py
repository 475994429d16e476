"""The apps form a stack: each imports only from itself and the levels below it, and no modules import each other
in a circle. Read from the source with `ast`, so the test sees every import, including those inside functions.

    promptconfig  <-  profiles, templates_app  <-  abtests, versions  <-  generation

The root URLconf, the settings and management commands compose the apps and may import any of them.
"""

import ast
import compileall
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LEVEL = {"promptconfig": 0, "profiles": 1, "templates_app": 1, "abtests": 2, "versions": 2, "generation": 3}
COMPOSERS = {"promptconfig/urls.py", "promptconfig/settings.py"}
MAX_LINES = 500


def server_modules(root: Path) -> dict[str, Path]:
    """Every server module by dotted name (migrations left out: they name models, not code)."""
    found = {}
    for app in LEVEL:
        for path in sorted((root / app).rglob("*.py")):
            relative = path.relative_to(root)
            if "migrations" in relative.parts:
                continue
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported_names(path: Path) -> set[str]:
    """Absolute module names the file's imports name (for `from a import b`, both `a` and `a.b`: b may be a module)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def upward_imports(root: Path) -> list[str]:
    wrong = []
    for name, path in server_modules(root).items():
        relative = path.relative_to(root)
        if relative.as_posix() in COMPOSERS or "commands" in relative.parts:
            continue
        app = name.split(".")[0]
        for target in sorted(imported_names(path)):
            other = target.split(".")[0]
            if other in LEVEL and other != app and LEVEL[other] >= LEVEL[app]:
                wrong.append(f"{relative} imports {target}")
    return wrong


def import_cycles(root: Path) -> list[str]:
    modules = server_modules(root)
    graph = {name: {t for t in imported_names(path) if t in modules} - {name} for name, path in modules.items()}
    cycles, state = [], {}  # state: 1 while on the current path, 2 when done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return cycles


def test_the_server_compiles():
    assert all(compileall.compile_dir(ROOT / app, quiet=1) for app in LEVEL)


def test_no_app_imports_an_app_above_it_or_beside_it():
    assert upward_imports(ROOT) == []


def test_no_modules_import_each_other_in_a_circle():
    assert import_cycles(ROOT) == []


def test_no_server_file_is_over_500_lines():
    lines = {str(path.relative_to(ROOT)): len(path.read_text().splitlines()) for path in server_modules(ROOT).values()}
    assert {path: n for path, n in lines.items() if n > MAX_LINES} == {}


@pytest.mark.parametrize(
    "leftover",
    [
        "generation.py",
        "generation_log.py",
        "runtime_views.py",
        "analytics.py",
        "analytics_views.py",
        "caching.py",
        "demo.py",
    ],
)
def test_templates_app_holds_no_runtime_analytics_or_demo_code(leftover):
    assert not (ROOT / "templates_app" / leftover).exists()


def test_the_checks_catch_an_upward_import_and_a_cycle_even_inside_functions(tmp_path):
    for app in LEVEL:
        (tmp_path / app).mkdir()
    (tmp_path / "templates_app" / "views.py").write_text("def f():\n    from generation.services import generate\n")
    (tmp_path / "generation" / "a.py").write_text("import generation.b\n")
    (tmp_path / "generation" / "b.py").write_text("from generation import a\n")
    (tmp_path / "promptconfig" / "urls.py").write_text("from generation import a\n")  # the URLconf composes
    assert upward_imports(tmp_path) == [
        "templates_app/views.py imports generation.services",
        "templates_app/views.py imports generation.services.generate",
    ]
    assert import_cycles(tmp_path) == ["generation.a -> generation.b -> generation.a"]
