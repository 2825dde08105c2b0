"""One line per lever family: the value of a card's ``lever`` field, its card schema and the
class that puts it to work.  Adding a family is a card schema (``cards.py``), a lever module,
a line here, a YAML card, its docs and its tests."""

from __future__ import annotations

from typing import NamedTuple

from .cards import FamilyCard, HousingCard, HukouCard, JobsCard, PlatformCard, TalentCard
from .family import FamilyLever
from .hukou import HukouLever
from .jobs import JobsLever
from .platform import PlatformLever
from .talent import TalentLever
from .units import HousingLever


class Family(NamedTuple):
    card: type
    lever: type


FAMILIES = {
    "talent_subsidy": Family(TalentCard, TalentLever),
    "affordable_housing": Family(HousingCard, HousingLever),
    "shared_employment": Family(PlatformCard, PlatformLever),
    "hukou": Family(HukouCard, HukouLever),
    "family": Family(FamilyCard, FamilyLever),
    "jobs_programme": Family(JobsCard, JobsLever),
}
