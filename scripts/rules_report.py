"""make rules: for each rule ID in ../shared/RULES.md, the tests that cite it
(@pytest.mark.rule("ID", ...)), then the number of uncovered IDs."""
from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT.parent / "shared" / "RULES.md"
ID = re.compile(r"^\|\s*([A-Z][A-Z0-9]*-[A-Z0-9]+-\d+)\s*\|", re.M)


def rule_ids(text: str) -> list[str]:
    return ID.findall(text)


def citations(tests_dir: Path) -> dict[str, list[str]]:
    """rule ID → ["tests/test_x.py::test_name", ...], from the decorators in the source."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(tests_dir.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            for dec in node.decorator_list:
                if (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute)
                        and dec.func.attr == "rule"):
                    for arg in dec.args:
                        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                            found[arg.value].append(f"{path.relative_to(ROOT)}::{node.name}")
    return found


def main() -> int:
    if not RULES.is_file():
        print(f"rule catalogue not found at {RULES}", file=sys.stderr)
        return 1
    ids = rule_ids(RULES.read_text(encoding="utf-8"))
    cited = citations(ROOT / "tests")
    unknown = sorted(set(cited) - set(ids))
    width = max(map(len, ids))
    for rid in ids:
        tests = cited.get(rid, [])
        print(f"{rid:<{width}}  {len(tests):>3}  {', '.join(tests) if tests else '-'}")
    for rid in unknown:
        print(f"warning: tests cite {rid}, which is not in RULES.md: {', '.join(cited[rid])}")
    uncovered = [r for r in ids if r not in cited]
    print(f"{len(ids) - len(uncovered)} of {len(ids)} rules cited by tests; "
          f"{len(uncovered)} uncovered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
