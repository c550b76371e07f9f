"""Typer coerces an option that was not given without building a pydantic validator for it.

Typer 0.29 builds a pydantic TypeAdapter for every parameter of the command it runs, before it
looks at the value, also for an option left unset (value None), whose coercion is then `None` (or
`()` for a repeatable one) whatever the adapter. `aigw generate` has 23 parameters and a call
gives three or four: the other adapters cost about a tenth of a one-shot run. `skip_unset()`
answers the unset ones exactly as typer's own `process_value` does (missing-value check, then the
parameter's callback) and leaves every given value to typer.

It replaces one method of typer's private parameter class, so it checks first that the method is
the one it was written against (the names its code uses) and leaves typer alone when it differs: a
typer that changed is slower, never wrong.
"""

from __future__ import annotations

from typing import Any

_applied = False


def skip_unset() -> bool:
    """Apply once; returns whether typer now skips unset parameters."""
    global _applied
    if _applied:
        return True
    try:
        from typer import core
        from typer.core import _TyperParameter
    except ImportError:
        return False
    original = _TyperParameter.__dict__.get("process_value")
    missing = getattr(getattr(core, "_click", None), "exceptions", None)
    missing = getattr(missing, "MissingParameter", None)
    if original is None or missing is None or not _same_shape(original):
        return False

    def process_value(self: Any, ctx: Any, value: Any) -> Any:
        if value is not None:
            return original(self, ctx, value)
        value = () if (self.multiple or self.nargs == -1) else None  # RuntimeParam.coerce(None)
        if self.required and self.value_is_missing(value):
            raise missing(ctx=ctx, param=self)
        if self.callback is not None:
            value = self.callback(ctx, self, value)
        return value

    process_value.__doc__ = original.__doc__
    _TyperParameter.process_value = process_value  # type: ignore[method-assign]
    _applied = True
    return True


# The names typer 0.29's process_value uses, in order: skip bool flags, coerce, missing check, callback.
_EXPECTED = ("type_descriptor", "annotation", "bool", "isinstance", "get_runtime_param", "coerce", "required",
             "value_is_missing", "_click", "exceptions", "MissingParameter", "callback")


def _same_shape(method: Any) -> bool:
    code = getattr(method, "__code__", None)
    return code is not None and tuple(code.co_names) == _EXPECTED
