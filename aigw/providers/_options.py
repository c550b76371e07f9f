"""Which of aigw's options each provider honours, as data, and the one function that warns for the rest.

Each provider class declares `image_options` / `audio_options`: for every option of the shared
vocabulary, how it reaches that provider's wire. README's option table is rendered from these
declarations (`support_table`), and a test keeps the two equal. `not_sent` is the shared mapping
step: an option the model cannot take gets one warning and is cleared from the call, so what the
plan shows is what is sent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from aigw.errors import UsageError

Support = Literal["sent", "mapped", "not sent", "refused", "by model"]
SENT: Support = "sent"  # on the wire as asked
MAPPED: Support = "mapped"  # moved to the nearest value the provider offers, with one warning
NOT_SENT: Support = "not sent"  # one warning, and left out of the request
REFUSED: Support = "refused"  # exit 2 before any request: leaving it out would change what comes back
BY_MODEL: Support = "by model"  # sent where the model takes it; else warned and left out, or refused
SYMBOLS: dict[Support, str] = {SENT: "✓", MAPPED: "~", NOT_SENT: "✗", REFUSED: "exit 2", BY_MODEL: "✓/✗"}

# Call field -> the flag the user wrote it with, in the order README's table lists them.
IMAGE_FLAGS: dict[str, str] = {
    "size": "--size", "aspect_ratio": "--aspect-ratio", "quality": "--quality", "style": "--style",
    "n": "-n", "format": "--format", "seed": "--seed", "negative_prompt": "--negative-prompt",
    "steps": "--steps", "guidance": "--guidance",
}
AUDIO_FLAGS: dict[str, str] = {
    "language": "--language", "prompt": "--prompt", "temperature": "--temperature",
    "timestamps": "--timestamps", "translate": "--translate", "diarize": "--diarize",
}

C = TypeVar("C", bound=BaseModel)


@functools.lru_cache(maxsize=None)
def _options_of(cls: type[BaseModel]) -> tuple[tuple[str, str, Any], ...]:
    """(field, flag, default) of each option a call class carries: read from pydantic once per
    class, not at every call of every run."""
    flags = IMAGE_FLAGS if "negative_prompt" in cls.model_fields else AUDIO_FLAGS
    return tuple((field, flag, cls.model_fields[field].default) for field, flag in flags.items())


def not_sent(call: C, honoured: Collection[str], *, name: str, model: str) -> tuple[C, list[str]]:
    """Every option asked of `call` that is not in `honoured`: one warning each ("openai: gpt-image-2
    does not take --seed; not sent"), and its default put back so nothing of it reaches the wire."""
    notes: list[str] = []
    update: dict[str, Any] = {}
    for field, flag, default in _options_of(type(call)):
        value = getattr(call, field)
        if field in honoured or value == default:
            continue
        notes.append(f"{name}: {model} does not take {flag}; not sent")
        update[field] = default
    return (call.model_copy(update=update) if update else call), notes


def support_table(columns: Mapping[str, Mapping[str, Support]], flags: Mapping[str, str]) -> str:
    """A Markdown table: one row per option, one column per provider, cells from SYMBOLS."""
    head = "| option | " + " | ".join(columns) + " |"
    rule = "|---|" + "---|" * len(columns)
    rows = [f"| `{flag}` | " + " | ".join(SYMBOLS[col[field]] for col in columns.values()) + " |"
            for field, flag in flags.items()]
    return "\n".join([head, rule, *rows])


def provider_columns(kind: str) -> dict[str, Mapping[str, Support]]:
    """Each built-in provider of this kind and its declaration, in registry order (README's columns).
    A gateway configured with `type = "openai"` is the `openai` column."""
    from aigw.providers.base import provider_class
    from aigw.providers.registry import BUILTIN

    out: dict[str, Mapping[str, Support]] = {}
    for name in BUILTIN:
        cls = provider_class(name)
        if kind in cls.kinds:
            declared = cls.image_options if kind == "image" else cls.audio_options
            check_declared(declared, IMAGE_FLAGS if kind == "image" else AUDIO_FLAGS, name)
            out[f"`{name}`"] = declared
    return out


def readme_tables() -> str:
    """README's option tables, exactly as they must appear there."""
    return (support_table(provider_columns("image"), IMAGE_FLAGS) + "\n\n"
            + support_table(provider_columns("audio"), AUDIO_FLAGS))


def check_declared(declared: Mapping[str, Support], flags: Mapping[str, str], owner: str) -> None:
    """A declaration names every option, and only options (called by tests and the table)."""
    if set(declared) != set(flags):
        missing, extra = sorted(set(flags) - set(declared)), sorted(set(declared) - set(flags))
        raise ValueError(f"{owner}: option declaration differs from the vocabulary: missing {missing}, extra {extra}")


DIARIZE_HINT = "speaker labels come from -m gpt-4o-transcribe-diarize (openai, azure) or -m nova-3 (deepgram)"


def speakers_refused(name: str, model: str) -> UsageError:
    return UsageError(f"{name}: {model} does not label speakers (--diarize)", hint=DIARIZE_HINT)


def transcribe_preparer(provider: Any) -> Callable[[Any], tuple[Any, list[str]]]:
    """`provider.prepare_transcribe`, after refusing what its declaration says it cannot do at all:
    `--diarize` where it offers no speakers (a transcript without them is not what was asked)."""

    def prepare(call: Any) -> tuple[Any, list[str]]:
        if getattr(call, "diarize", False) and provider.audio_options.get("diarize") not in (SENT, BY_MODEL):
            raise speakers_refused(provider.name, call.provider_model)
        result: tuple[Any, list[str]] = provider.prepare_transcribe(call)
        return result

    return prepare
