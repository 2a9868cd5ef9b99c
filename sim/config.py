"""Building blocks of the scenario schema.

Every section of a scenario is a :class:`StrictModel`: unknown keys are refused, NaN and infinity are
refused, and every field has a default, so a minimal scenario is one line (``name: x``).
Month strings (``YYYY-MM``) are the unit of calendar time in scenario files.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class StrictModel(BaseModel):
    """Base of every scenario section: no unknown keys, no NaN, defaults validated."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True,
                              protected_namespaces=())


def month_number(month: str) -> int:
    """Months since year 0 for a ``YYYY-MM`` string (so differences are month counts)."""
    year, mon = month.split("-")
    return int(year) * 12 + int(mon) - 1


def month_name(number: int) -> str:
    """Inverse of :func:`month_number`."""
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


def month_range(start: str, end: str) -> list[str]:
    """Every month from ``start`` to ``end`` inclusive."""
    return [month_name(k) for k in range(month_number(start), month_number(end) + 1)]


def add_months(month: str, count: int) -> str:
    return month_name(month_number(month) + count)
