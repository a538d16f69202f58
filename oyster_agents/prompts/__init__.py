"""Prompt files: ``<role>.system.md`` (static, the cacheable prefix) and ``<role>.user.j2`` (per query),
and the documented fallbacks (``fallbacks.yaml``) used when a model's output cannot be used.

Templates render with jinja2's sandbox and ``StrictUndefined``: a missing value fails loudly, and user
text is only ever inserted as a value, never evaluated as template code.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel

__all__ = ["fallback_data", "render", "schema_hint"]

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=None)
def _source(filename: str) -> str:
    return resources.files(__package__).joinpath(filename).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def _template(filename: str) -> Any:
    return _ENV.from_string(_source(filename))


def render(role: str, part: str, **values: Any) -> str:
    """Render ``<role>.<part>`` (``system`` is Markdown with placeholders, ``user`` a jinja2 template)."""
    filename = f"{role}.system.md" if part == "system" else f"{role}.{part}.j2"
    return _template(filename).render(**values).strip()


@lru_cache(maxsize=1)
def fallback_data() -> dict[str, Any]:
    """The documented fallbacks (``prompts/fallbacks.yaml``): cautious answer, prior reactions, and so on."""
    import yaml

    return yaml.safe_load(_source("fallbacks.yaml"))


def schema_hint(model: type[BaseModel]) -> str:
    """A compact description of a schema's fields, from their ``Field(description=...)``."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    return _hint(schema, defs, indent=0)


def _hint(schema: dict[str, Any], defs: dict[str, Any], indent: int) -> str:
    pad = "  " * indent
    lines = ["{"]
    props = schema.get("properties", {})
    for name, prop in props.items():
        lines.append(f'{pad}  "{name}": {_type(prop, defs, indent + 1)}')
    lines.append(pad + "}")
    return "\n".join(lines)


def _type(prop: dict[str, Any], defs: dict[str, Any], indent: int) -> str:
    desc = prop.get("description")
    if "$ref" in prop:
        target = defs[prop["$ref"].split("/")[-1]]
        if "enum" in target:
            return _with_desc(" | ".join(f'"{v}"' for v in target["enum"]), desc or target.get("description"))
        return _hint(target, defs, indent)
    if "enum" in prop:
        return _with_desc(" | ".join(f'"{v}"' for v in prop["enum"]), desc)
    kind = prop.get("type")
    if kind == "array":
        inner = prop.get("items", {})
        inner_type = _type(inner, defs, indent) if ("$ref" in inner or "enum" in inner) else inner.get("type", "string")
        return _with_desc(f"[{inner_type}, ...]", desc)
    if kind in ("number", "integer") and ("minimum" in prop or "maximum" in prop):
        return _with_desc(f"{kind} from {prop.get('minimum')} to {prop.get('maximum')}", desc)
    return _with_desc(str(kind or "value"), desc)


def _with_desc(text: str, desc: str | None) -> str:
    return f"{text}  // {desc}" if desc else text
