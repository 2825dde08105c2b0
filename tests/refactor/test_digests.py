"""Refactors leave every output byte-identical (issue: one home for each concept).

The digests in ``digests.json`` were recorded before the refactor; a change that alters the
outputs on purpose (a fixed bug) records them again in its own commit
(``python -m tests.refactor.digests --write``) and says why.
"""

import json

import pytest

from . import digests

WANT = json.loads(digests.FILE.read_text())


@pytest.mark.parametrize("name", sorted(digests.MODEL_CASES))
def test_model_outputs_unchanged(name):
    assert digests.model_case(*digests.MODEL_CASES[name]) == WANT[name]


def test_compare_unchanged():
    assert digests.compare_case() == WANT["compare"]


def test_sweep_unchanged():
    assert digests.sweep_case() == WANT["sweep"]


def test_digest_sees_a_change():
    import pandas as pd

    a = pd.DataFrame({"x": [1.0, 2.0]})
    assert digests.frame_digest(a) != digests.frame_digest(a.assign(x=[1.0, 2.0000001]))
    assert digests.frame_digest(a) != digests.frame_digest(a.astype("float32"))
