"""The JSON schema of a function's parameters, from its type hints and docstring.

``Annotated[int, "the count"]`` gives a parameter a description, as do the docstring's
``Args:`` entries (the annotation wins). Pydantic ``Field(...)`` metadata in
``Annotated`` is honoured too. A parameter typed :class:`ToolContext` is injected by
graphflow and left out of the schema.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.errors import PydanticSchemaGenerationError, PydanticUserError

from graphflow.errors import ToolError
from graphflow.tools.context import ToolContext

__all__ = ["FunctionSchema", "function_schema"]


@dataclass(frozen=True)
class FunctionSchema:
    """What :func:`function_schema` finds out about a function.

    Attributes:
        description: the docstring's description.
        parameters: the JSON schema of the arguments (an ``object`` schema).
        model: the pydantic model that validates the arguments.
        context_param: the name of the ``ToolContext`` parameter, if any.
    """

    description: str
    parameters: dict[str, Any]
    model: type[BaseModel]
    context_param: str | None


def _is_context(annotation: Any) -> bool:
    if annotation is ToolContext:
        return True
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return len(args) == 1 and args[0] is ToolContext
    return False


def _split_annotated(annotation: Any) -> tuple[Any, str | None]:
    """``Annotated[x, "desc", Field(...)]`` → (``Annotated[x, Field(...)]``, "desc")."""
    if typing.get_origin(annotation) is not Annotated:
        return annotation, None
    base, *meta = typing.get_args(annotation)
    texts = [m for m in meta if isinstance(m, str)]
    others = [m for m in meta if not isinstance(m, str)]
    kept = base
    for extra in others:  # nested Annotated flattens into one
        kept = Annotated[kept, extra]
    return kept, (texts[0] if texts else None)


def _clean(schema: dict[str, Any]) -> dict[str, Any]:
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        if isinstance(prop, dict):
            prop.pop("title", None)
    return schema


def function_schema(fn: Callable[..., Any], name: str, doc_args: dict[str, str],
                    description: str = "") -> FunctionSchema:  # fmt: skip
    """Build the argument model and JSON schema of ``fn``.

    Args:
        fn: the function.
        name: the tool's name (used in messages and as the model's title).
        doc_args: argument descriptions from the docstring.
        description: the tool's description.

    Raises:
        ToolError: the signature cannot be described (``*args``, an unsupported type).

    Example:
        >>> def area(width: float, height: Annotated[float, "in metres"] = 1.0) -> float:
        ...     return width * height
        >>> s = function_schema(area, "area", {"width": "in metres"})
        >>> s.parameters["required"], s.parameters["properties"]["height"]["description"]
        (['width'], 'in metres')
    """
    hinted: Any = fn
    if not inspect.isroutine(fn) and not inspect.isclass(fn):
        hinted = type(fn).__call__  # a callable object: its __call__ has the hints
    try:
        signature = inspect.signature(fn)
        hints = typing.get_type_hints(hinted, include_extras=True)
    except (TypeError, ValueError, NameError) as exc:
        raise ToolError(f"tool {name!r}: cannot read the signature of {fn!r} ({exc}); use "
                        "type hints that can be imported at module level") from None  # fmt: skip
    fields: dict[str, Any] = {}
    context_param = None
    for pname, param in signature.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ToolError(f"tool {name!r}: parameter *{pname} cannot be described to a model; "
                            "give the tool named parameters only")  # fmt: skip
        annotation = hints.get(pname, Any)
        if _is_context(annotation):
            context_param = pname
            continue
        annotation, text = _split_annotated(annotation)
        default = ... if param.default is param.empty else param.default
        fields[pname] = (annotation, Field(default, description=text or doc_args.get(pname)))
    try:
        model = create_model(f"{name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
        parameters = _clean(model.model_json_schema())
    except (PydanticSchemaGenerationError, PydanticUserError, TypeError) as exc:
        raise ToolError(f"tool {name!r}: its parameters cannot be turned into a JSON schema "
                        f"({exc}); use JSON-friendly types (str, int, float, bool, list, dict, "
                        "Literal, pydantic models)") from None  # fmt: skip
    parameters.setdefault("properties", {})
    parameters.setdefault("required", [])
    return FunctionSchema(description, parameters, model, context_param)
