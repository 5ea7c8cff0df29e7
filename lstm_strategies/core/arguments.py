"""Constructor arguments declared in the one parameter language (bottom floor).

A class's ``__init__`` annotates an argument with the constraints of :mod:`lstm_strategies.core.declarations`
(``lam: Annotated[float, Range(0, 1, low_open=True, high_open=True)] = 0.94``); :func:`checked_init` turns
those annotations into a :class:`~lstm_strategies.core.declarations.Params` model and wraps ``__init__`` so
every given argument is validated, with the same words as a strategy's ``Params`` and a config key
(``EWMAForecaster.lam = 5: must be in (0, 1)``), before the constructor's body runs. The forecasters' base
class does this for every subclass; the config reference shows the ranges.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Annotated

from pydantic import create_model

from lstm_strategies.core.declarations import Params

__all__ = ["arguments_model", "check_value", "checked_init", "constraint_text"]


def arguments_model(func: Callable, owner: str) -> type[Params] | None:
    """The :class:`Params` model of ``func``'s arguments that carry an ``Annotated`` constraint (None: none)."""
    fields = {}
    for p in inspect.signature(func).parameters.values():
        hint = _evaluated(func, p.annotation)
        if typing.get_origin(hint) is Annotated:
            fields[p.name] = (hint, ... if p.default is p.empty else p.default)
    if not fields:
        return None
    model = create_model(f"{owner}Arguments", __base__=Params, **fields)
    model.owner = owner
    return model


def _evaluated(func: Callable, annotation):
    """An annotation as an object (``from __future__ import annotations`` keeps strings); None when a name in it
    is not importable at run time (e.g. imported for type checking only): such an argument declares no range."""
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, getattr(func, "__globals__", {}))  # noqa: S307  the class's own source text
    except Exception:
        return None


def checked_init(cls: type, init: Callable) -> Callable:
    """``init`` validating its declared arguments first (see the module); ``init`` itself without any."""
    model = arguments_model(init, cls.__name__)
    if model is None:
        return init
    signature = inspect.signature(init)

    @functools.wraps(init)
    def checked(self, *args, **kwargs):
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError:
            return init(self, *args, **kwargs)   # the constructor's own TypeError names the bad argument
        given = {k: v for k, v in bound.arguments.items() if k in model.model_fields}
        if given:   # one ConfigError naming each bad argument; the values reach the body as given
            model.check(given, where=type(self).__name__)
        return init(self, *args, **kwargs)

    checked.arguments = model
    return checked


def constraint_text(hint) -> str:
    """What an ``Annotated`` constraint allows, as the config reference shows it (``in (0, 1)``); '' if none."""
    texts = [getattr(getattr(m, "func", None), "text", "") for m in typing.get_args(hint)[1:]]
    return "; ".join(t for t in texts if t)


@functools.cache
def _one_argument(name: str, hint) -> type[Params]:
    return create_model(f"{name}Argument", __base__=Params, **{name: (hint, ...)})


def check_value(owner: str, name: str, value, hint):
    """One argument checked against an ``Annotated`` constraint (for code that sets it outside a constructor's
    signature); returns the value as the model makes it (an int given for a float is a float)."""
    model = _one_argument(name, hint)
    model.check({name: value}, where=owner)
    return getattr(model.model_validate({name: value}), name)
