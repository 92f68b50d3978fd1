"""The code's shape stays seeable: docs/architecture.md names every module of core/, and core/
itself holds few modules beside its stage packages."""

from pathlib import Path

from builders import REPO

CORE = REPO / "core"
#: Public API modules: their import paths are promised in docs/plugins/.
PUBLIC_API = {"domain_api.py", "adapter_api.py", "reporter_api.py", "records_api.py", "verdict_json.py"}


def _modules():
    return sorted(p for p in CORE.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_architecture_page_names_every_module():
    page = (REPO / "docs" / "architecture.md").read_text()
    missing = [p.relative_to(REPO).as_posix() for p in _modules() if p.relative_to(REPO).as_posix() not in page]
    assert missing == [], "docs/architecture.md does not name these modules"


def test_core_holds_at_most_eight_modules_beside_its_packages():
    loose = sorted(p.name for p in CORE.glob("*.py") if p.name not in PUBLIC_API | {"__init__.py", "__main__.py"})
    assert len(loose) <= 8, loose


def test_every_package_says_what_it_holds():
    for package in sorted(p.parent for p in CORE.rglob("__init__.py") if "__pycache__" not in p.parts):
        text = (package / "__init__.py").read_text()
        assert text.lstrip().startswith('"""'), f"{package.relative_to(REPO)}/__init__.py has no docstring"


def test_no_module_over_450_lines_and_no_function_over_80():
    import ast

    too_long = []
    for path in _modules():
        text = path.read_text()
        if text.count("\n") > 450:
            too_long.append(f"{path.relative_to(REPO)}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 80:
                too_long.append(f"{path.relative_to(REPO)}: {node.name} is {node.end_lineno - node.lineno + 1} lines")
    assert too_long == []


def test_no_import_cycle_even_inside_functions():
    """Imports inside function bodies count (grimp reads them all); only TYPE_CHECKING imports,
    which never run, are left out."""
    import grimp

    graph = grimp.build_graph("carecheck", exclude_type_checking_imports=True)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if graph.chain_exists(imported=module, importer=imported):
                cycles.append(f"{module} <-> {imported}")
    assert cycles == []


def test_every_path_the_plugin_docs_name_still_imports():
    """docs/plugins/ promises import paths to plugin authors: each dotted carecheck name there
    resolves (a module, or an attribute of one)."""
    import importlib
    import re

    names = set()
    for page in (REPO / "docs" / "plugins").glob("*.md"):
        names |= set(re.findall(r"\bcarecheck(?:\.[A-Za-z_]\w*)+", page.read_text()))
    assert "carecheck.verdict_json.json_chunks" in names and "carecheck.domain_api" in names
    unresolved = []
    for name in sorted(names):
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                target = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attribute in parts[cut:]:
                    target = getattr(target, attribute)
            except AttributeError:
                unresolved.append(name)
            break
        else:
            unresolved.append(name)
    assert unresolved == []
