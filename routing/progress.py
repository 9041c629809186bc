"""Progress output for long jobs: numbered steps with elapsed time, and tqdm bars, on stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

#: ``progress(stage, share of the work done)``: what a long planner tells its caller (a job's status) as it goes.
Progress = Callable[[str, float], None]


def silent(stage: str, share: float) -> None:
    """The progress of a planner nobody watches."""


class Reporter:
    """Prints ``[elapsed] step`` lines and progress bars; silent when ``quiet``."""

    def __init__(self, quiet: bool = False, stream=None) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def step(self, message: str) -> None:
        if not self.quiet:
            print(f"[{self.elapsed():6.1f}s] {message}", file=self.stream, flush=True)

    @contextmanager
    def bar(self, total: int, desc: str) -> Iterator[Callable[[int], None]]:
        """A bar of ``total`` ticks; yields the function that advances it."""
        if self.quiet:
            yield lambda n: None
            return
        with tqdm(total=total, desc=desc, file=self.stream, unit="tile", leave=False) as bar:
            yield bar.update
        self.step(f"{desc}: {total} done")
