"""The Python blocks of the docs' recipes run as written (docs/notebook.md)."""

from __future__ import annotations

import re
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def test_notebook_recipe_runs(monkeypatch):
    blocks = python_blocks(ROOT / "docs" / "notebook.md")
    assert len(blocks) >= 4
    monkeypatch.chdir(ROOT)
    env: dict = {}
    for block in blocks:
        exec(compile(block, "docs/notebook.md", "exec"), env)  # noqa: S102 - the docs' own code
    assert not env["model"].running and env["model"].month == 24
    assert len(env["headline"]) == 25  # the census month and 24 months
    assert len(env["rows"]) == 4  # two values of beta_income, two seeds
    import pandas as pd

    df = pd.DataFrame(env["rows"])
    by_beta = df.groupby("decisions.beta_income")["net_migration"].mean()
    assert by_beta.index.tolist() == [2.0, 4.0] and by_beta.iloc[0] != by_beta.iloc[1]  # the keyword reached the model
