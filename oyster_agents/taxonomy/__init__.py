"""The risk policy as data: categories, per-category guidelines, levels, interaction forms.

The default policy ships as ``default.yaml``; users pass their own file (YAML or JSON) in the same
shape. A malformed file raises :class:`ConfigError` naming the file and the field.

Limits, because the policy becomes prompt text on every call: the file at most
``MAX_CONFIG_BYTES`` (1 MiB), at most :data:`MAX_CATEGORIES` categories, names up to
:data:`MAX_NAME_CHARS` characters, and each guideline at most :data:`MAX_GUIDELINE_CHARS`.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from importlib import resources
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from oyster_agents._records import error_lines, located, parse_document, read_document
from oyster_agents._safe_load import ReadError
from oyster_agents.errors import ConfigError

__all__ = ["Category", "Level", "MAX_CATEGORIES", "NONE_CATEGORY", "Taxonomy", "load_taxonomy"]

NONE_CATEGORY = "none"
MAX_CATEGORIES = 100
MAX_NAME_CHARS = 200
MAX_GUIDELINE_CHARS = 4000


def _guideline_size(rules: list[str]) -> list[str]:
    size = sum(len(rule) for rule in rules)
    if size > MAX_GUIDELINE_CHARS:
        raise ValueError(
            f"the guideline has {size:,} characters, over the limit of {MAX_GUIDELINE_CHARS:,}: it is sent "
            "with every call of the critics; keep the rules short"
        )
    return rules


def _exact_keys(field: str, keys: tuple[str, ...]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A validator: the mapping's keys are exactly ``keys``."""
    def check(value: dict[str, Any]) -> dict[str, Any]:
        if set(value) != set(keys):
            raise ValueError(f"{field} must be exactly {', '.join(keys)}; got {sorted(value)}")
        return value

    return check


class Level(BaseModel):
    """A risk level's display name and meaning."""

    name: str
    description: str


class Category(BaseModel):
    """One risk category and its guideline (a list of rules)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=MAX_NAME_CHARS)
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    domain: str = ""
    description: str = ""
    typical_severity: int = Field(default=2, ge=0, le=4)
    guideline: list[str] = Field(min_length=1)

    _guideline_limit = field_validator("guideline")(_guideline_size)


class Taxonomy(BaseModel):
    """A complete policy."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    name: str
    description: str = ""
    levels: dict[str, Level]
    interaction_forms: dict[str, str]
    severity_scale: dict[int, str]
    default_guideline: list[str] = Field(min_length=1)
    categories: list[Category] = Field(min_length=1, max_length=MAX_CATEGORIES)

    _default_guideline_limit = field_validator("default_guideline")(_guideline_size)
    _levels = field_validator("levels")(_exact_keys("levels", ("R0", "R1", "R2")))
    _forms = field_validator("interaction_forms")(
        _exact_keys("interaction_forms", ("declarative", "inquiry", "directive")))

    @model_validator(mode="after")
    def _unique_ids(self) -> "Taxonomy":
        ids = [c.id for c in self.categories]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate category ids: {dupes}")
        if NONE_CATEGORY in ids:
            raise ValueError(f"'{NONE_CATEGORY}' is reserved for queries without a risk category")
        return self

    @property
    def ids(self) -> list[str]:
        """Category ids in file order."""
        return [c.id for c in self.categories]

    def get(self, category_id: str) -> Category | None:
        """The category with this id, or None (also for ``'none'``)."""
        return next((c for c in self.categories if c.id == category_id), None)

    def resolve(self, label: str) -> str | None:
        """Map a model's label (id, name, or a close spelling) to a category id, or None."""
        key = label.strip().lower().replace(" ", "_").replace("-", "_")
        if key in ("", NONE_CATEGORY, "no_risk"):
            return NONE_CATEGORY
        for cat in self.categories:
            if key in (cat.id, cat.name.lower().replace(" ", "_")):
                return cat.id
        match = difflib.get_close_matches(key, self.ids, n=1, cutoff=0.75)
        return match[0] if match else None

    def guideline_for(self, category_id: str) -> str:
        """The category's guideline text, or the default guideline."""
        cat = self.get(category_id)
        rules = cat.guideline if cat else self.default_guideline
        return "\n".join(f"{i}. {rule}" for i, rule in enumerate(rules, 1))

    def rule_for(self, category_id: str) -> tuple[str, str]:
        """The policy rule that bounds a query of this category: ``(rule id, rule text)``.

        The rule id is the category id, or ``'none'`` with the policy's default guideline.
        """
        cat = self.get(category_id)
        return (cat.id if cat else NONE_CATEGORY), self.guideline_for(category_id)

    def category_menu(self) -> str:
        """One line per category for classification: ``id: name — one-line description``, then ``none``."""
        lines = [f"{c.id}: {c.name}" + (f" — {_first_sentence(c.description)}" if c.description else "")
                 for c in self.categories]
        return "\n".join([*lines, f"{NONE_CATEGORY}: none of these; no risk category applies"])


def _first_sentence(text: str, limit: int = 160) -> str:
    """The first sentence of a description, at most ``limit`` characters."""
    text = " ".join(text.split())
    end = text.find(". ")
    first = text if end < 0 else text[: end + 1]
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load and validate a policy file; ``None`` loads the shipped default.

    Raises:
        ConfigError: unreadable file, bad YAML/JSON (with line) or a schema problem (with field).
    """
    if path is None:
        return _default()
    return _load(Path(path))


@lru_cache(maxsize=1)
def _default() -> Taxonomy:
    text = resources.files(__package__).joinpath("default.yaml").read_text(encoding="utf-8")
    where = "default.yaml (packaged)"
    try:
        data = parse_document(text, is_json=False)
    except ReadError as exc:
        raise ConfigError(located(where, exc.line, exc.message)) from None
    return _validate(text, data, where)


def _load(path: Path) -> Taxonomy:
    text, data = read_document(
        path, what="policy file", error=ConfigError,
        size_hint=": the policy becomes prompt text on every call; keep categories and guidelines short",
    )
    return _validate(text, data, str(path))


def _validate(text: str, data: object, where: str) -> Taxonomy:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}:1: a policy file must be a mapping with 'categories', 'levels', ...")
    try:
        return Taxonomy.model_validate(data)
    except ValidationError as exc:
        problems = error_lines(exc, where, text, limit=10, field=lambda loc: _location(loc, data))
        raise ConfigError(f"{where}: invalid policy:\n" + "\n".join(f"  {p}" for p in problems)) from exc


def _location(loc: tuple, data: dict) -> str:
    parts: list[str] = []
    node: object = data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            item = node[part]
            label = item.get("id") if isinstance(item, dict) else None
            parts.append(f"[{part}]" + (f"(id={label})" if label else ""))
            node = item
        else:
            parts.append(f".{part}" if parts else str(part))
            node = node.get(part) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"
