"""Policy cards, eligibility and fiscal accounting (DESIGN.md: ``policies.py``).

The implementation lives in the :mod:`migrants.policy` package, one module per
lever family; this module is the public face:

>>> from migrants.policies import load_card
>>> load_card("shenyang_talent_3_0").lever
'talent_subsidy'

See ``docs/policies.md`` for each lever's rule, parameters and sources.
"""

from .policy.cards import (  # noqa: F401
    POLICY_DIR,
    Eligibility,
    Schedule,
    available_cards,
    build_card,
    card_path,
    load_card,
    load_cards,
    month_index,
    split_reference,
)
from .policy.engine import POLICY_COLUMNS, PolicyEngine, format_totals  # noqa: F401
from .policy.registry import FAMILIES  # noqa: F401

LEVERS = tuple(FAMILIES)  # the values of a card's ``lever`` field
CARD_CLASSES = {lever: f.card for lever, f in FAMILIES.items()}
from .policy.eligibility import person_mask, type_mask  # noqa: F401

__all__ = ["CARD_CLASSES", "FAMILIES", "LEVERS", "POLICY_DIR", "POLICY_COLUMNS", "Eligibility", "PolicyEngine", "Schedule",
           "available_cards", "build_card", "format_totals", "card_path", "load_card", "load_cards", "month_index", "person_mask",
           "split_reference", "type_mask"]
