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

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from aigw.transcripts.model import Segment, Word

_PUNCT = re.compile(r"[^\w']+")


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
    """The segment's text as words with times: each token of the text takes the timing of the word
    it matches (OpenAI's words carry no punctuation, so the text's own tokens are shown); tokens
    with no timed word, or a segment with none, get times in proportion to characters."""
    parts = seg.text.split()
    if seg.words:
        timed = [w for w in seg.words if w.word]
        matcher = SequenceMatcher(None, [_key(p) for p in parts], [_key(w.word) for w in timed], autojunk=False)
        found: dict[int, Word] = {}
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                found[block.a + k] = timed[block.b + k]
        if len(found) * 2 >= len(parts):  # the text and the words agree: the text's tokens, the words' times
            out: list[Word] = []
            for i, part in enumerate(parts):
                match = found.get(i)
                floor = out[-1].end if out else seg.start
                out.append(Word(match.start, match.end, part, seg.speaker) if match else Word(floor, floor, part, seg.speaker))
            return out
        return timed
    total = sum(len(p) + 1 for p in parts) or 1
    span = max(seg.end - seg.start, 0.0)
    estimated, done = [], 0
    for part in parts:
        start = seg.start + span * done / total
        done += len(part) + 1
        estimated.append(Word(start, seg.start + span * (done - 1) / total, part, seg.speaker))
    return estimated


def _key(token: str) -> str:
    return _PUNCT.sub("", token.lower())
