"""A segment's text as timed tokens, the unit both cue shaping and the chunk merge cut at.

The tokens are the text's own words, so punctuation and case survive a cut (OpenAI's word timings
carry neither). Each takes the time of the timed word it matches (aligned by lower-cased letters and
digits with `difflib.SequenceMatcher`); a token no timed word matches starts where the previous one
ended. When the text and the words mostly disagree, the words themselves are the tokens. A segment
without word timings has its span shared out in proportion to characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from aigw.transcripts.model import Segment

_PUNCT = re.compile(r"[^\w']+")


@dataclass(frozen=True)
class Token:
    start: float
    end: float
    text: str
    word: int | None  # index in the segment's `words` of the timed word it is; None when its time is estimated


def key(text: str) -> str:
    """What two spellings of one word share: lower case, no punctuation."""
    return _PUNCT.sub("", text.lower())


def tokens(seg: Segment) -> list[Token]:
    parts = seg.text.split()
    if seg.words:
        matcher = SequenceMatcher(None, [key(p) for p in parts], [key(w.word) for w in seg.words], autojunk=False)
        found: dict[int, int] = {}
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                found[block.a + k] = block.b + k
        if len(found) * 2 >= len(parts):  # the text and the words agree: the text's tokens, the words' times
            out: list[Token] = []
            for i, part in enumerate(parts):
                index = found.get(i)
                if index is not None:
                    w = seg.words[index]
                    out.append(Token(w.start, w.end, part, index))
                else:
                    floor = out[-1].end if out else seg.start
                    out.append(Token(floor, floor, part, None))
            return out
        return [Token(w.start, w.end, w.word, i) for i, w in enumerate(seg.words) if w.word]
    total = sum(len(p) + 1 for p in parts) or 1
    span = max(seg.end - seg.start, 0.0)
    estimated, done = [], 0
    for part in parts:
        start = seg.start + span * done / total
        done += len(part) + 1
        estimated.append(Token(start, seg.start + span * (done - 1) / total, part, None))
    return estimated
