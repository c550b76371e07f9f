"""A batch's input, read line by line: each line a prompt (or an audio path), or a JSON object
with the options of one request. Blank lines and lines starting with `#` are skipped; line
numbers count every line of the input, so an error names the line an editor shows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Union

Kind = Literal["image", "audio"]

_STR = (str,)
# What a JSON line may carry, by kind, and the Python types each value may have.
IMAGE_FIELDS: dict[str, tuple[type, ...]] = {
    "prompt": _STR, "model": _STR, "size": _STR, "aspect_ratio": _STR, "quality": _STR, "style": _STR,
    "enhance": (list, str), "n": (int,), "seed": (int,), "negative_prompt": _STR, "steps": (int,),
    "guidance": (int, float), "format": _STR, "output": _STR, "provider": (list, str),
}
AUDIO_FIELDS: dict[str, tuple[type, ...]] = {
    "file": _STR, "model": _STR, "format": _STR, "language": _STR, "prompt": _STR, "output": _STR,
}
FIELDS: dict[str, dict[str, tuple[type, ...]]] = {"image": IMAGE_FIELDS, "audio": AUDIO_FIELDS}
MAIN_FIELD = {"image": "prompt", "audio": "file"}  # what a plain line is
POSITIVE = ("n", "steps")


@dataclass(frozen=True)
class Item:
    line: int
    fields: dict[str, Any]  # the line's own options; the command line's are the defaults
    id: str | None = None


@dataclass(frozen=True)
class Malformed:
    line: int
    error: str
    id: str | None = None


Entry = Union[Item, Malformed]


@dataclass
class Input:
    entries: list[Entry] = field(default_factory=list)

    @property
    def items(self) -> list[Item]:
        return [e for e in self.entries if isinstance(e, Item)]

    @property
    def malformed(self) -> list[Malformed]:
        return [e for e in self.entries if isinstance(e, Malformed)]


def parse(text: str, kind: Kind) -> Input:
    """Every line that is not blank or a comment becomes an Item or, when it cannot be one, a
    Malformed naming why; one bad line never hides the others."""
    parsed = Input()
    # A BOM (Notepad's UTF-8) is no part of the first line; and only \n ends a line, as in an editor:
    # str.splitlines() would also cut at U+2028, form feeds and the like inside a JSON string.
    text = text.removeprefix("\ufeff")
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parsed.entries.append(_entry(number, line, kind))
    return parsed


def from_paths(paths: list[str]) -> Input:
    """`aigw transcribe a.wav b.wav`: one item per file, numbered from 1 in the order given."""
    return Input([Item(number, {"file": path}) for number, path in enumerate(paths, start=1)])


def _entry(number: int, line: str, kind: Kind) -> Entry:
    if not line.startswith("{"):
        return Item(number, {MAIN_FIELD[kind]: line})
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return Malformed(number, f"not valid JSON ({exc.msg} at column {exc.colno})")
    assert isinstance(obj, dict)  # a line starting with { that parses is an object
    item_id = obj.pop("id", None)
    if isinstance(item_id, bool) or (item_id is not None and not isinstance(item_id, (str, int))):
        return Malformed(number, "id must be a string or a number")
    ident = None if item_id is None else str(item_id)
    problem = _check(obj, kind)
    if problem:
        return Malformed(number, problem, ident)
    return Item(number, obj, ident)


def _check(obj: dict[str, Any], kind: Kind) -> str | None:
    allowed = FIELDS[kind]
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        return f"unknown key {unknown[0]!r} (allowed: id, {', '.join(allowed)})"
    main = MAIN_FIELD[kind]
    if not isinstance(obj.get(main), str) or not obj[main].strip():
        return f"{main!r} is missing or empty"
    for key, value in obj.items():
        types = allowed[key]
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, types):
            return f"{key} must be {_describe(types)}"
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            return f"{key} must be a string or a list of strings"
        least = 1 if key in POSITIVE else 0 if key == "guidance" else None
        if least is not None and isinstance(value, (int, float)) and value < least:
            return f"{key} must be at least {least}"
    return None


def _describe(types: tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", list: "a list of strings"}
    if types == (int, float):
        return "a number"
    return " or ".join(names[t] for t in types)
