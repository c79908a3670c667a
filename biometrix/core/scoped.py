"""An attribute a block of code may make its own, per thread or asyncio task (a ``contextvars`` override): what lets
one object (a store, a service) be shared by requests served at once, each with its own operator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class ContextScoped(Generic[T]):
    """A descriptor: ``obj.attr`` reads and writes the object's own value, except inside ``scope(obj, value)``, where
    reads and writes of that object's attribute see the block's own value (this thread's or task's only)."""

    def __init__(self, name: str, default: T) -> None:
        self._slot = f"_{name}_shared"
        self._default = default
        self._var: ContextVar[tuple[object, Any] | None] = ContextVar(f"biometrix_{name}", default=None)

    def __get__(self, obj: object | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        scoped = self._var.get()
        if scoped is not None and scoped[0] is obj:
            return scoped[1]
        return obj.__dict__.get(self._slot, self._default)

    def __set__(self, obj: object, value: T) -> None:
        scoped = self._var.get()
        if scoped is not None and scoped[0] is obj:
            self._var.set((obj, value))
        else:
            obj.__dict__[self._slot] = value

    @contextmanager
    def scope(self, obj: object, value: T) -> Iterator[None]:
        """Within the block, in this context only, ``obj``'s attribute starts as ``value`` and is its own."""
        token = self._var.set((obj, value))
        try:
            yield
        finally:
            self._var.reset(token)
