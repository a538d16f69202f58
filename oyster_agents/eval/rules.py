"""A benchmark's risk rule set (Strata-Sword's published ``risk_rules``), read at run time.

Two formats:

- JSON Lines, one rule a line: ``{"category": ..., "rule": ...}`` (optional ``category_zh``,
  ``rule_zh``, ``tier``);
- the published ``.xlsx`` (needs ``openpyxl``, in the ``eval`` extra): the first sheet, one rule a
  row below a header row. Columns named ``category`` and ``rule`` (any case) are used when present;
  otherwise the published layout's positions: the third column holds the category and the fifth the
  rule.

The rule text stays in the user's file; nothing of it ships with the package.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from oyster_agents._records import read_objects
from oyster_agents.errors import InputError

NO_RULE = "none"
# Positions (0-based) in the published spreadsheet: category in the third column, rule in the fifth.
_XLSX_CATEGORY, _XLSX_RULE = 2, 4


class RiskRule(BaseModel):
    """One category of a rule set and the rule answers in that category are judged against."""

    category: str = Field(min_length=1)
    rule: str = Field(min_length=1)
    category_zh: str | None = None
    rule_zh: str | None = None
    tier: str | None = None


class RuleSet(BaseModel):
    """The rules by category, in file order; lookups ignore case and surrounding whitespace."""

    source: str
    rules: list[RiskRule]

    @property
    def categories(self) -> list[str]:
        """The category names, in file order."""
        return [r.category for r in self.rules]

    def find(self, name: str | None) -> RiskRule | None:
        """The rule whose category (English or Chinese name) matches ``name``, else None."""
        key = _norm(name)
        if not key or key == NO_RULE:
            return None
        for rule in self.rules:
            if key in (_norm(rule.category), _norm(rule.category_zh)):
                return rule
        return None


def load_rules(path: str | Path) -> RuleSet:
    """Read a rule set from ``.jsonl`` or ``.xlsx``.

    Raises:
        InputError: the file is missing, unreadable, empty, has a row without a category or rule,
            repeats a category, or is an ``.xlsx`` while ``openpyxl`` is not installed.
    """
    file = Path(path)
    if not file.is_file():
        raise InputError(f"--rules {file}: no such file (give the rule set as .jsonl or .xlsx)")
    if file.suffix.lower() in (".xlsx", ".xlsm"):
        rows = list(_xlsx_rows(file))
    else:
        rows = list(read_objects(file, expected="a rule object with 'category' and 'rule'"))
    rules: list[RiskRule] = []
    seen: set[str] = set()
    for where, row in rows:
        category, rule = str(row.get("category") or "").strip(), str(row.get("rule") or "").strip()
        if not category or not rule:
            raise InputError(f"{file}:{where}: a rule needs a non-empty 'category' and 'rule'")
        if _norm(category) in seen:
            raise InputError(f"{file}:{where}: category {category!r} appears twice")
        seen.add(_norm(category))
        rules.append(RiskRule(category=category, rule=rule, **{k: _text(row.get(k)) for k in
                                                                 ("category_zh", "rule_zh", "tier")}))
    if not rules:
        raise InputError(f"{file}: the rule set is empty")
    return RuleSet(source=str(file), rules=rules)


def _xlsx_rows(file: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    try:
        from openpyxl import load_workbook
    except ImportError as exc:
        raise InputError(
            f"{file}: reading .xlsx needs openpyxl (pip install 'oyster-agents[eval]'), or convert the sheet "
            "to JSON Lines with one {\"category\": ..., \"rule\": ...} object a line"
        ) from exc
    try:
        book = load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a bad file
        raise InputError(f"{file}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from exc
    try:
        sheet = book.worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
    finally:
        book.close()
    if not rows:
        return
    header = [_norm(str(c) if c is not None else "") for c in rows[0]]
    columns = _columns(header)
    for number, row in enumerate(rows[1:], start=2):
        if all(c is None or str(c).strip() == "" for c in row):
            continue
        yield number, {name: row[i] if i < len(row) else None for name, i in columns.items()}


def _columns(header: Sequence[str]) -> dict[str, int]:
    named = {name: header.index(name) for name in ("category", "rule", "category_zh", "rule_zh", "tier")
             if name in header}
    if "category" in named and "rule" in named:
        return named
    return {"category": _XLSX_CATEGORY, "rule": _XLSX_RULE}


def _text(value: Any) -> str | None:
    return None if value is None or str(value).strip() == "" else str(value).strip()


def _norm(name: str | None) -> str:
    return " ".join((name or "").split()).casefold()
