"""bench/results.json: every benchmark's figures by stable name, {"name": {"value": n, "unit": u}}.

Each script records its own figures; those of the other scripts stay as they were, so one script
can be re-run alone and the file still holds the whole set."""
from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.json"


def figure(value: float, unit: str) -> dict:
    return {"value": value, "unit": unit}


def record(figures: dict[str, dict]) -> Path:
    """Merge `figures` into bench/results.json (names sorted) and return its path."""
    try:
        current = json.loads(RESULTS.read_text())
    except (FileNotFoundError, ValueError):
        current = {}
    current.update(figures)
    RESULTS.write_text(json.dumps(dict(sorted(current.items())), indent=2, ensure_ascii=False)
                       + "\n")
    return RESULTS


def show(figures: dict[str, dict]) -> None:
    """Print figures one per line, as `make bench` shows them."""
    for name, f in figures.items():
        print(f"{name:<36} {f['value']:>12} {f['unit']}")
