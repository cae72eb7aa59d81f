"""Functions of Python's ``statistics`` library offered to models as tools, unchanged.

The library's functions have no type hints, so each is wrapped with
:func:`graphflow.tools.library_tool` and a pydantic model of its arguments; the model's
call runs the library function itself. Graphs offer them as ``stats`` (every tool
below) or one by one (``nodes.tools.stats:median``).
"""

from __future__ import annotations

import statistics
from typing import Annotated

from pydantic import BaseModel, Field

from graphflow.tools import library_tool

__all__ = ["correlation", "linear_regression", "mean", "median", "stdev"]


class Sample(BaseModel):
    """One list of numbers."""

    data: Annotated[list[float], Field(min_length=1, description="the numbers")]


class Sample2(BaseModel):
    """A sample of at least two numbers (for the spread)."""

    data: Annotated[list[float], Field(min_length=2, description="the numbers")]


class Pair(BaseModel):
    """Two samples of the same length."""

    x: Annotated[list[float], Field(min_length=2, description="the first variable's values")]
    y: Annotated[list[float], Field(min_length=2, description="the second variable's values, "
                                    "in the same order as x")]


mean = library_tool(statistics.mean, args=Sample,
                    description="The arithmetic mean (average) of the numbers.")
median = library_tool(statistics.median, args=Sample,
                      description="The median (middle value) of the numbers.")
stdev = library_tool(statistics.stdev, args=Sample2,
                     description="The sample standard deviation of the numbers.")
correlation = library_tool(statistics.correlation, args=Pair,
                           description="Pearson's correlation coefficient of x and y "
                           "(-1 to 1).")  # fmt: skip
linear_regression = library_tool(
    lambda x, y: statistics.linear_regression(x, y)._asdict(), args=Pair,
    name="linear_regression",
    description="The slope and intercept of the least-squares line y = slope * x + intercept.")
