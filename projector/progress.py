"""Progress reporting: long work calls callbacks; it never knows who listens.

A callback takes a :class:`Progress` and returns True to cancel (openTSNE style). The same
callbacks drive a tqdm bar in a terminal or notebook and the app's progress bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from projector.errors import ProjectorError

__all__ = ["Progress", "ProgressCallback", "Cancelled", "Reporter", "tqdm_callback"]


@dataclass(frozen=True)
class Progress:
    """One progress event: ``done`` of ``total`` units of ``stage`` (``total`` None if unknown)."""

    stage: str
    done: int
    total: int | None = None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        return None if not self.total else min(1.0, self.done / self.total)


ProgressCallback = Callable[[Progress], "bool | None"]


class Cancelled(ProjectorError):
    """A progress callback asked to stop the work."""


class Reporter:
    """Sends progress to a list of callbacks and raises :class:`Cancelled` when one asks."""

    __slots__ = ("_callbacks",)

    def __init__(self, callbacks: ProgressCallback | Sequence[ProgressCallback] | None = None) -> None:
        if callbacks is None:
            self._callbacks: tuple[ProgressCallback, ...] = ()
        elif callable(callbacks):
            self._callbacks = (callbacks,)
        else:
            self._callbacks = tuple(callbacks)

    def __bool__(self) -> bool:
        return bool(self._callbacks)

    def __call__(self, stage: str, done: int, total: int | None = None, message: str = "") -> None:
        event = Progress(stage, done, total, message)
        stop = False
        for callback in self._callbacks:
            stop = bool(callback(event)) or stop
        if stop:
            raise Cancelled(f"{stage}: cancelled at {done}{f' of {total}' if total else ''}")

    def steps(self, stage: str, items: Iterable, total: int | None = None):
        """Yield ``items``, reporting after each one."""
        self(stage, 0, total)
        for done, item in enumerate(items, start=1):
            yield item
            self(stage, done, total)


def tqdm_callback(**tqdm_options) -> ProgressCallback:
    """A callback drawing one tqdm bar per stage (terminal or notebook, as tqdm.auto picks).

    Bars are off when stderr is not a terminal unless ``disable=False`` is passed.
    """
    from tqdm.auto import tqdm

    options = {"disable": None, "leave": False, **tqdm_options}
    bars: dict[str, object] = {}

    def callback(event: Progress) -> None:
        bar = bars.get(event.stage)
        if bar is None:
            bar = bars[event.stage] = tqdm(total=event.total, desc=event.stage, **options)
        bar.n = event.done
        if event.message:
            bar.set_postfix_str(event.message, refresh=False)
        bar.refresh()
        if event.total is not None and event.done >= event.total:
            bar.close()

    return callback
