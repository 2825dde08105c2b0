"""Rewrite the parameter tables of docs/ODD.md (III.vi) from configs/scenarios/baseline.yaml.

    .venv/bin/python scripts/make_odd_parameters.py

Value, basis and source are copied verbatim from the scenario; the unit of each parameter is kept
from the table as it stands (``UNITS`` gives the units of parameters new to it).  The text
between ``### III.vi Parameters``'s tables and ``**Run settings**`` is replaced, nothing else.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from migrants.config import load_scenario  # noqa: E402

ODD = ROOT / "docs" / "ODD.md"
UNITS = {
    "decisions.rest_of_china_constant": "utils",
    "decisions.seat_amenity": "utils",
    "decisions.province_amenity": "utils",
}
SECTIONS = ("demography", "labour", "housing", "decisions")


def _value(v: float) -> str:
    if float(v).is_integer() and abs(v) >= 1000:
        return f"{int(v):,}"
    return f"{v:g}" if abs(v) < 1e6 else f"{v:,.0f}"


def main() -> None:
    text = ODD.read_text(encoding="utf-8")
    head = "### III.vi Parameters"
    start = text.index(head)
    first = text.index("**demography**", start)
    end = text.index("**Run settings**", start)
    old = text[first:end]
    units = dict(re.findall(r"^\| `([^`]+)` \| [^|]* \| ([^|]*) \|", old, flags=re.M))
    units = {k: u.strip() for k, u in units.items()}
    cfg = load_scenario("baseline")
    parts = []
    for sec in SECTIONS:
        rows = [f"**{sec}**", "", "| parameter | value | unit | basis | source |", "|---|---|---|---|---|"]
        for name, p in getattr(cfg, sec):
            items = ([(f"{sec}.{name}", p)] if hasattr(p, "value")
                     else [(f"{sec}.{name}.{k}", v) for k, v in p.items()])
            for path, par in items:
                unit = units.get(path) or UNITS.get(path) or UNITS.get(path.rsplit(".", 1)[0], "")
                src = par.source.replace("|", "/")
                rows.append(f"| `{path}` | {_value(par.value)} | {unit} | {par.basis} | {src} |")
        parts.append("\n".join(rows) + "\n")
    ODD.write_text(text[:first] + "\n".join(parts) + "\n" + text[end:], encoding="utf-8")
    print(f"wrote the parameter tables of {ODD.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
