"""The apps depend in one direction: `enrichment` reads and updates notes through `notes`,
and `notes` never imports `enrichment` (it hands work over through `notes.delivery`)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_notes_never_imports_enrichment():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] == "enrichment"
        )
        for path in (ROOT / "notes").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from enrichment.tags import x\n    import enrichment\n")
    assert imported_modules(module) == {"enrichment.tags", "enrichment"}
