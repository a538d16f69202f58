"""The guard's logic once, for sync and async callers alike.

The logic is a generator that yields the calls it needs (:class:`Call`, :class:`Next`) and the
items it streams (:class:`Emit`), and is sent each call's result back (or has its error thrown
in). A driver makes the calls: :func:`run` and :func:`stream` with ``invoke``/``stream``/``next``,
:func:`arun` and :func:`astream` with ``ainvoke``/``astream``/``anext``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union

from langchain_core.runnables import Runnable, RunnableConfig

from oyster_agents.telemetry.guard_span import GuardSpan

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """Invoke ``runnable`` (or open its stream, with ``stream=True``), with ``span`` current."""

    runnable: Runnable[Any, Any]
    input: Any
    config: RunnableConfig | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    stream: bool = False
    span: GuardSpan | None = None

    def call(self) -> Any:
        if self.stream:
            return self.runnable.stream(self.input, self.config, **self.kwargs)
        return self.runnable.invoke(self.input, self.config, **self.kwargs)

    async def acall(self) -> Any:
        if self.stream:
            return self.runnable.astream(self.input, self.config, **self.kwargs).__aiter__()
        return await self.runnable.ainvoke(self.input, self.config, **self.kwargs)


@dataclass(frozen=True)
class Next:
    """The next item of a stream a :class:`Call` opened (``None`` at its end), with ``span`` current."""

    items: Any
    span: GuardSpan | None = None

    def call(self) -> Any:
        return next(self.items, None)

    async def acall(self) -> Any:
        return await anext(self.items, None)


@dataclass(frozen=True)
class Emit:
    """An item for the caller of a stream."""

    item: Any


Step = Union[Call, Next, Emit]
Steps = Generator[Step, Any, T]


class _Drive:
    """Feeds results (or errors) back into the steps; the drivers below make the calls."""

    def __init__(self, steps: Steps[Any]) -> None:
        self.steps = steps
        self.result: Any = None
        self.error: BaseException | None = None
        self.value: Any = None

    def __iter__(self) -> Iterator[Step]:
        while True:
            error, self.error = self.error, None
            try:
                step = self.steps.throw(error) if error is not None else self.steps.send(self.result)
            except StopIteration as done:
                self.value = done.value
                return
            self.result = None
            yield step

    @contextmanager
    def _outcome(self, step: Call | Next) -> Iterator[None]:
        try:
            with step.span.current() if step.span is not None else nullcontext():
                yield
        except BaseException as exc:  # thrown into the steps, which may record it and re-raise it
            self.error = exc

    def settle(self, step: Call | Next) -> None:
        """Make a call with sync calls; its result (or error) goes back into the steps."""
        with self._outcome(step):
            self.result = step.call()

    async def asettle(self, step: Call | Next) -> None:
        """Make a call with async calls; its result (or error) goes back into the steps."""
        with self._outcome(step):
            self.result = await step.acall()

    # The emitted items, settling each call on the way.
    def items(self) -> Iterator[Any]:
        with closing(self.steps):
            for step in self:
                if isinstance(step, Emit):
                    yield step.item
                else:
                    self.settle(step)

    async def aitems(self) -> AsyncIterator[Any]:
        with closing(self.steps):
            for step in self:
                if isinstance(step, Emit):
                    yield step.item
                else:
                    await self.asettle(step)


def run(steps: Steps[T]) -> T:
    """Run ``steps`` with sync calls and return their value."""
    drive = _Drive(steps)
    for _ in drive.items():
        pass
    return drive.value  # type: ignore[no-any-return]


async def arun(steps: Steps[T]) -> T:
    """Run ``steps`` with async calls and return their value."""
    drive = _Drive(steps)
    async for _ in drive.aitems():
        pass
    return drive.value  # type: ignore[no-any-return]


def stream(steps: Steps[Any]) -> Iterator[Any]:
    """The items ``steps`` emit, making sync calls."""
    return _Drive(steps).items()


def astream(steps: Steps[Any]) -> AsyncIterator[Any]:
    """The items ``steps`` emit, making async calls."""
    return _Drive(steps).aitems()
