"""Subtitle cues from segments, shaped by `--max-line-width` and `--max-line-count`.

As openai/whisper's subtitle writer does (whisper/utils.py, `SubtitlesWriter.iterate_result`): a
line breaks at a word boundary before it would pass the width (a longer word stands alone on its
line), and a cue ends when it holds `max_line_count` lines; the count needs a width, as in Whisper
(without one each segment is one line). Unlike Whisper, a cue never spans two segments, so a
change of speaker is always a new cue. Cue times come from the words' own timings where the
provider gave them, otherwise from the segment's span in proportion to characters.

A speaker's label (`[SPEAKER 1] `) starts every cue of that speaker and counts toward the first
line's width.
"""

from __future__ import annotations

from dataclasses import dataclass

from aigw.transcripts.model import Segment, Word
from aigw.transcripts.tokens import tokens


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def speaker_label(speaker: int | None) -> str:
    return f"[SPEAKER {speaker}] " if speaker is not None else ""


def cues(segments: tuple[Segment, ...] | list[Segment], *, max_line_width: int | None = None,
         max_line_count: int | None = None) -> list[Cue]:
    out: list[Cue] = []
    for seg in segments:
        if not seg.text.strip():
            continue
        label = speaker_label(seg.speaker)
        if max_line_width is None:
            out.append(Cue(seg.start, seg.end, (label + " ".join(seg.text.split()),)))
            continue
        out.extend(_shaped(seg, label, max_line_width, max_line_count))
    return out


def _shaped(seg: Segment, label: str, width: int, count: int | None) -> list[Cue]:
    words = _timed_words(seg)
    cues_out: list[Cue] = []
    lines: list[list[Word]] = []
    for word in words:
        if lines:
            line = lines[-1]
            used = sum(len(w.word) + 1 for w in line) - 1 + (len(label) if len(lines) == 1 else 0)
            if used + 1 + len(word.word) <= width:
                line.append(word)
                continue
            if count is not None and len(lines) >= count:
                cues_out.append(_cue(lines, label))
                lines = []
        lines.append([word])
    if lines:
        cues_out.append(_cue(lines, label))
    if cues_out:  # the segment's own span bounds its first and last cue
        first, last = cues_out[0], cues_out[-1]
        cues_out[0] = Cue(min(seg.start, first.start), first.end, first.lines)
        cues_out[-1] = Cue(cues_out[-1].start, max(seg.end, last.end), cues_out[-1].lines)
    return cues_out


def _cue(lines: list[list[Word]], label: str) -> Cue:
    text = [" ".join(w.word for w in line) for line in lines]
    text[0] = label + text[0]
    return Cue(lines[0][0].start, lines[-1][-1].end, tuple(text))


def _timed_words(seg: Segment) -> list[Word]:
    """The segment's text as words with times (aigw.transcripts.tokens)."""
    return [Word(t.start, t.end, t.text, seg.speaker) for t in tokens(seg)]
