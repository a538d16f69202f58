"""One way to run code around a graph node: hooks, applied when the node is added to the builder.

A hook has four steps, each with a default that does nothing:

- ``before(state)``: runs first and returns this call's token; ``None`` means the hook sits this
  call out (none of its other steps run);
- ``during(token)``: a context manager that is open while the node (and the hooks inside this
  one) runs;
- ``after(token, output)``: sees, and may replace, the node's state update;
- ``error(token, exc)``: sees a failure; it re-raises, or returns the update to use instead.

Hooks nest in list order: the first is the outermost. The node itself runs as LangGraph built it
(:func:`add_node` passes it through ``coerce_to_runnable`` as ``StateGraph.add_node`` does), and
the wrapper is one LangGraph ``RunnableCallable`` with a sync and an async path, so a node keeps
working under ``invoke``, ``ainvoke``, ``stream`` and ``astream``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

from langchain_core.runnables import Runnable, RunnableConfig

# LangGraph's own node runnable (what StateGraph.add_node builds); langgraph.prebuilt uses it too.
from langgraph._internal._runnable import RunnableCallable, coerce_to_runnable


class NodeHook(Protocol):
    """What runs around a node; see the module docstring."""

    def before(self, state: Any) -> Any: ...

    def during(self, token: Any) -> AbstractContextManager[Any]: ...

    def after(self, token: Any, output: Any) -> Any: ...

    def error(self, token: Any, exc: BaseException) -> Any: ...


class Hook:
    """A :class:`NodeHook` whose steps do nothing; subclasses override the steps they need."""

    def before(self, state: Any) -> Any:
        return None

    def during(self, token: Any) -> AbstractContextManager[Any]:
        return nullcontext()

    def after(self, token: Any, output: Any) -> Any:
        return output

    def error(self, token: Any, exc: BaseException) -> Any:
        raise exc


class HookedNode(RunnableCallable):
    """A node run inside its hooks (sync and async in one runnable)."""

    def __init__(self, name: str, inner: Runnable[Any, Any], hooks: Sequence[NodeHook]) -> None:
        super().__init__(self._run, self._arun, name=name, trace=False, recurse=False)
        self.inner = inner
        self.hooks = tuple(hooks)

    def _run(self, state: Any, config: RunnableConfig) -> Any:
        call = _Call(self.hooks, state)
        return call.output if call.answered else call.finish(lambda: self.inner.invoke(state, config))

    async def _arun(self, state: Any, config: RunnableConfig) -> Any:
        call = _Call(self.hooks, state)
        if call.answered:
            return call.output
        try:
            output = await self.inner.ainvoke(state, config)
        except BaseException as exc:
            return call.fail(exc)
        return call.done(output)


class _Call:
    """One call's way through the hooks: a generator paused where the node runs.

    The sync and async paths share it, so what a hook sees cannot differ between them. Context
    variables a hook's ``during`` sets stay set while the generator is paused, in the caller's
    context, so the node (and the executor thread LangGraph runs a sync node in) sees them.
    """

    def __init__(self, hooks: Sequence[NodeHook], state: Any) -> None:
        self._steps = _through(hooks, 0, state)
        self.answered, self.output = False, None
        try:
            next(self._steps)
        except StopIteration as done:  # a hook answered before the node ran
            self.answered, self.output = True, done.value

    def finish(self, run: Callable[[], Any]) -> Any:
        """Run the node, then unwind the hooks with its output or error."""
        try:
            output = run()
        except BaseException as exc:
            return self.fail(exc)
        return self.done(output)

    def done(self, output: Any) -> Any:
        """Unwind the hooks with the node's output; returns the update to use."""
        return _resume(self._steps.send, output)

    def fail(self, exc: BaseException) -> Any:
        """Unwind the hooks with the node's error; returns a hook's replacement update, or raises."""
        return _resume(self._steps.throw, exc)


def _through(hooks: Sequence[NodeHook], depth: int, state: Any) -> Generator[None, Any, Any]:
    if depth == len(hooks):
        return (yield)  # the node runs here
    hook = hooks[depth]
    token = hook.before(state)
    if token is None:
        return (yield from _through(hooks, depth + 1, state))
    try:
        with hook.during(token):
            output = yield from _through(hooks, depth + 1, state)
    except BaseException as exc:
        return hook.error(token, exc)
    return hook.after(token, output)


def _resume(step: Callable[[Any], Any], value: Any) -> Any:
    try:
        step(value)
    except StopIteration as done:
        return done.value
    raise RuntimeError("a node hook paused twice")  # each layer pauses once: unreachable


def hooks_of(runnable: Any) -> tuple[NodeHook, ...]:
    """The hooks a node runs in (empty for a node added without any)."""
    return runnable.hooks if isinstance(runnable, HookedNode) else ()


def add_node(graph: Any, name: str, action: Any, hooks: Sequence[NodeHook], **kwargs: Any) -> None:
    """``graph.add_node(name, action, **kwargs)`` with the node run inside ``hooks`` (outermost first).

    The node's input schema is not inferred from ``action``'s type hints: pass ``input_schema``
    when the node reads a schema other than the graph's state.
    """
    if not hooks:
        graph.add_node(name, action, **kwargs)
        return
    inner = coerce_to_runnable(action, name=name, trace=False)
    graph.add_node(name, HookedNode(name, inner, hooks), **kwargs)


def hook_added_nodes(graph: Any, hooks: Mapping[str, NodeHook]) -> None:
    """Run nodes already in ``graph`` inside one more hook each, outside the ones they have.

    Only for the deprecated after-the-fact helpers (``add_deadline_guards``, ``add_progress_events``,
    ``telemetry.instrument_builder``); :func:`add_node` applies hooks as a node is added. A node that
    already runs in a hook of the same type is left as it is.
    """
    for name, hook in hooks.items():
        spec = graph.nodes.get(name)
        if spec is None or any(type(h) is type(hook) for h in hooks_of(spec.runnable)):
            continue
        spec.runnable = HookedNode(name, spec.runnable, [hook])
