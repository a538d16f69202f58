"""GSM8K: grade-school maths word problems, scored by exact match of the final number (no judge).

Reading the final number from an answer (:func:`extract_answer`), first rule that applies:

1. a GSM8K-style ``#### N`` marker: the number after the last one;
2. an explicit phrase: the number right after the last "answer is", "answer:", "answer =",
   "result is" or ``\\boxed{...}``;
3. otherwise the last number in the text.

A number may carry a sign, thousands separators (``1,234``), decimals and a currency sign or unit
around it (``$1,200.50``, ``18 dollars``, ``45%``); thousands commas are dropped, the value is
normalised (``5.00`` → ``5``, ``-0`` → ``0``), so ``$18.00`` matches a reference of ``18``.
A hyphen counts as a minus only where it cannot be a subtraction (``16-3`` is 16 and 3).
No number at all: nothing extracted, the item counts as wrong.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from oyster_agents._records import read_objects
from oyster_agents.errors import InputError
from oyster_agents.eval._files import item_from, suite_files, unique_ids
from oyster_agents.eval.records import EvalItem, Suite, Verdicts

_NUMBER = r"(?<![\w)\]])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w)\]])-?\d+(?:\.\d+)?|(?<=[\w)\]])\d+(?:\.\d+)?"
NUMBER = re.compile(_NUMBER)
_MARKER = re.compile(r"####\s*\$?\s*(" + _NUMBER + ")")
_PHRASE = re.compile(
    r"(?:answer\s*(?:is|:|=)|result\s*is|\\boxed\{)\s*(?:\*\*)?\s*(?:approximately\s*)?\$?\s*(" + _NUMBER + ")",
    re.IGNORECASE,
)
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-"})


def normalize_number(text: str) -> str | None:
    """A number's canonical form (``"1,000.50"`` → ``"1000.5"``, ``"5.00"`` → ``"5"``), or None if not a number."""
    cleaned = text.translate(_MINUS).replace(",", "").replace("$", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def extract_answer(text: str) -> str | None:
    """The final number an answer gives, by the rules in the module docstring, normalised; None if none."""
    text = text.translate(_MINUS)
    for pattern in (_MARKER, _PHRASE):
        found = pattern.findall(text)
        if found:
            return normalize_number(found[-1])
    numbers = NUMBER.findall(text)
    return normalize_number(numbers[-1]) if numbers else None


def reference_answer(solution: str) -> str | None:
    """The reference final number of a GSM8K solution (after its ``#### ``), normalised."""
    found = _MARKER.findall(solution.translate(_MINUS))
    return normalize_number(found[-1]) if found else None


def score_answer(item: EvalItem, answer: str) -> Verdicts:
    """Exact match of the answer's final number against the item's reference."""
    extracted = extract_answer(answer)
    return Verdicts(extracted=extracted, correct=extracted is not None and extracted == item.reference)


def load_gsm8k(path: str | Path) -> list[EvalItem]:
    """Load GSM8K rows ``{question, answer}`` (the answer ending in ``#### N``) from a JSONL file or folder.

    Raises:
        InputError: unreadable file, bad JSON, a row without a question, or an answer without ``#### N``.
    """
    items: list[EvalItem] = []
    for file in suite_files(Suite.GSM8K, path):
        for line, row in read_objects(file):
            question, solution = row.get("question"), row.get("answer")
            if not isinstance(question, str) or not isinstance(solution, str):
                raise InputError(f"{file}:{line}: expected string fields 'question' and 'answer'; got {sorted(row)}")
            reference = reference_answer(solution)
            if reference is None:
                raise InputError(f"{file}:{line}: the answer does not end in '#### N' (the final number)")
            items.append(item_from(file, line, {
                "id": str(row.get("id") or f"{file.stem}-{line}"),
                "suite": Suite.GSM8K,
                "query": question,
                "reference": reference,
            }))
    return unique_ids(items)

