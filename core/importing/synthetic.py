"""What synthetic evidence is made from: the locations' names and types, the provider's own row,
incident causes, neutral text templates, and the small draws the generator repeats."""

from __future__ import annotations

import calendar
import random
from datetime import date, datetime

#: The provider's own row in the register (type provider, alias HQ).
PROVIDER_NAME = "Head Office"
SERVICE_NAMES = [
    ("Riverside Supported Living", "supported_living"), ("Oak House", "residential"),
    ("Elm Court Nursing Home", "nursing"), ("Willow Lodge", "residential"),
    ("Harbour View Homecare", "homecare"), ("Meadow Bank", "supported_living"),
]
# Cause codes (INCIDENT_CAUSES), each with the incident type it usually goes with.
CAUSES = ["environment", "health_condition", "medication_process", "behaviour", "care_planning", "equipment"]
CAUSE_TYPES = {"environment": "fall", "health_condition": "fall", "medication_process": "medication",
               "behaviour": "behaviour", "care_planning": "fall", "equipment": "fall"}
FIRST_OWNERS = ["A. Patel", "J. Okafor", "S. Byrne", "M. Nowak", "R. Hughes", "L. Chen"]
VAGUE_CONCERN = "Seemed a bit upset after the visit, possibly something happened, staff not sure etc."
CONCERN_TEXT = ("At {time} staff saw {what}. The person said {said}. Staff stayed with the person and "
                "recorded what was seen and said.")
WHAT = ["a bruise on the left forearm", "a red mark on the wrist", "that money was missing from the purse",
        "the person crying in the hallway", "a torn sleeve"]
SAID = ["they had knocked it on the door", "they did not know", "a visitor had shouted at them",
        "they wanted to speak to the manager"]
FINDINGS_GOOD = ("Sampled six care records, spoke with three people and two staff, observed lunch. Two records lacked "
                 "review dates after incidents; staffing matched the rota on both floors; one medicines audit action "
                 "remains open and is escalated with a named owner and deadline.")




def _months(start: date, count: int) -> list[tuple[date, date]]:
    months = []
    year, month = start.year, start.month
    for _ in range(count):
        last = calendar.monthrange(year, month)[1]
        months.append((date(year, month, 1), date(year, month, last)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _at(day: date, rng: random.Random, hours=(7, 22)) -> datetime:
    return datetime(day.year, day.month, day.day, rng.randint(*hours), rng.choice([0, 10, 20, 30, 40, 50]))


def _quota(n: int, share: float) -> list[bool]:
    """Exactly round(share * n) passes among n, never all of them unless share is 1."""
    passes = n if share >= 1 else min(n - 1, int(share * n)) if n else 0
    return [True] * passes + [False] * (n - passes)
