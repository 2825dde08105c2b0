"""PolicySet: the one way to compose a scenario's policy cards.

A scenario's ``policies`` is a list of card references: a card's name (or a YAML path),
optionally with field overrides in brackets, ``shenyang_talent_3_0[living_subsidy.months=24;
quota=500]``.  ``migrants run --policy``, ``migrants compare BASE a+b``, sweep factors and
the page's switches and sliders all build that list through a PolicySet:

>>> ps = PolicySet.parse(["shenyang_rent_subsidy_2016", "tianjin_haihe_talent_2018"])
>>> ps.plus(["shenyang_talent_3_0"]).without("tianjin_haihe_talent_2018").refs
['shenyang_rent_subsidy_2016', 'shenyang_talent_3_0']
>>> ps.with_fields("shenyang_rent_subsidy_2016", {"quota": 100}).refs[0]
'shenyang_rent_subsidy_2016[quota=100]'

A card appears once, keyed by its name (``configs/policies/x.yaml`` and ``x`` are the same
card); adding one that is already there adds its overrides to it (a field set again takes
the new value).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path


def card_key(ref: str) -> str:
    """The card a reference names: ``configs/policies/x.yaml`` and ``x`` are both ``x``."""
    name = ref.split("[", 1)[0].strip()
    return Path(name).stem if name.endswith((".yaml", ".yml")) else name


DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*")


def card_field_value(field: str, value) -> str:
    """A card field value as text for a ``card[field=value; ...]`` reference (scalars only)."""
    if not DOTTED.fullmatch(str(field)):
        raise ValueError(f"card field {field!r}: expected a dotted field path")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str) and not re.search(r"[\[\];,]", value):
        return json.dumps(value, ensure_ascii=False)
    raise ValueError(f"card field `{field}` = {value!r}: expected a number, true/false or a string "
                     "without [ ] ; , (a card field is set through the card's [field=value] reference)")


def _field(override: str) -> str:
    return override.split("=", 1)[0].strip()


@dataclass(frozen=True)
class PolicySet:
    """An ordered set of cards, each with its ``field=value`` overrides."""

    entries: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def parse(cls, refs) -> "PolicySet":
        """From references as a scenario lists them."""
        return cls().plus(refs)

    @classmethod
    def of(cls, scenario, overrides: dict | None = None) -> "PolicySet":
        """The cards of a scenario (name or path), under ``overrides`` other than ``policies``."""
        from ..config import load_scenario

        ov = {k: v for k, v in (overrides or {}).items() if not k.startswith("policies")}
        return cls.parse(load_scenario(scenario, ov).policies)

    def _index(self, key: str) -> int:
        return next((i for i, (name, _) in enumerate(self.entries) if card_key(name) == key), -1)

    def plus(self, refs) -> "PolicySet":
        """With these references added (a card already there takes their overrides too)."""
        entries = list(self.entries)
        for ref in refs:
            name, _, inner = str(ref).partition("[")
            fields = tuple(x.strip() for x in inner.rstrip().removesuffix("]").split(";") if x.strip())
            i = PolicySet(tuple(entries))._index(card_key(name))
            if i < 0:
                entries.append((name.strip(), fields))
            else:  # a field set again takes its new value, in its old place's stead
                new = {_field(f) for f in fields}
                entries[i] = (entries[i][0], tuple(f for f in entries[i][1] if _field(f) not in new) + fields)
        return PolicySet(tuple(entries))

    def without(self, key: str) -> "PolicySet":
        """With the card ``key`` switched off (left out)."""
        return PolicySet(tuple(e for e in self.entries if card_key(e[0]) != card_key(key)))

    def with_fields(self, key: str, values: dict) -> "PolicySet":
        """With ``field=value`` overrides for card ``key`` (added if it is not there)."""
        return self.plus([key + "[" + "; ".join(f"{k}={card_field_value(k, v)}" for k, v in values.items()) + "]"]
                         if values else [key])

    def __contains__(self, key: str) -> bool:
        return self._index(card_key(key)) >= 0

    @property
    def keys(self) -> list[str]:
        return [card_key(name) for name, _ in self.entries]

    @property
    def refs(self) -> list[str]:
        """The references, as a scenario's ``policies`` list."""
        return [name + (f"[{'; '.join(fields)}]" if fields else "") for name, fields in self.entries]
