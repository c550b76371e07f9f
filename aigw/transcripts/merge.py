"""One transcript from the transcripts of overlapping chunks of one recording. Pure: no I/O.

A long file is sent as chunks, each starting `overlap` seconds before the previous one ended, so no
word is lost to a cut. Each chunk's transcript is timed from the chunk's own start; merging shifts
it by the chunk's `offset` onto the whole file's timeline and removes what the overlap made twice:

* The join is decided on tokens in the overlap window (aigw.transcripts.tokens): each segment's
  own words, timed by the provider's word timings where it gave them, else in proportion to their
  characters within the segment.
* The two sides' tokens in the window are aligned by their text (`difflib.SequenceMatcher` on
  lower-cased words without punctuation). Of the matching runs, the longest (up to three words)
  nearest the window's middle whose two sides are close in time gives the cut: the earlier chunk
  keeps its words up to and including the matched word, the later chunk its words after it.
* When nothing aligns (the chunks heard the overlap differently), the window's middle cuts: words
  with timings by their own middle, segments without them by the segment's middle.

A segment cut at the join keeps the text of the tokens it keeps (punctuation included), their
word timings, and times from them (or in proportion to characters without word timings). Finally times are made
non-decreasing (a segment starts no earlier than the previous one ended), so cues never overlap.

Speaker numbers stay as each chunk's provider gave them: providers number speakers per request, so
`[SPEAKER 1]` of one chunk need not be the same person as `[SPEAKER 1]` of the next.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher

from aigw.transcripts.model import Segment, Transcript, Word, text_of
from aigw.transcripts.tokens import key, tokens

MATCH_TOLERANCE_S = 1.5  # two words with timings are the same word only this close in time
MAX_RUN = 3  # a run of this many matching words is as good as a longer one; then nearness to the middle wins


@dataclass(frozen=True)
class Chunk:
    transcript: Transcript
    offset: float  # where the chunk starts on the whole file's timeline, in seconds
    overlap: float = 0.0  # seconds at its start that the previous chunk also covered


@dataclass(frozen=True)
class _Token:
    seg: int  # the segment's index in its side's list
    pos: int  # the token's index within that segment
    start: float
    end: float
    text: str
    timed: bool  # a real word timing, not one estimated from characters
    word: int | None = None  # the timed word's index in the segment's `words`

    @property
    def mid(self) -> float:
        return (self.start + self.end) / 2

    @property
    def key(self) -> str:
        return key(self.text)


def merge(chunks: Sequence[Chunk]) -> Transcript:
    """The chunks' transcripts as one, on the whole file's timeline, in the order given."""
    if not chunks:
        return Transcript(text="", segments=(), timed=True)
    merged: list[Segment] = []
    for chunk in chunks:
        incoming = [s.shifted(chunk.offset) for s in chunk.transcript.segments if s.text.strip()]
        if merged and incoming and chunk.overlap > 0:
            merged, incoming = _join(merged, incoming, chunk.offset, chunk.offset + chunk.overlap)
        merged.extend(incoming)
    segments = _monotonic(merged)
    return Transcript(text=text_of(segments), segments=tuple(segments), language=_language(chunks),
                      duration=_duration(chunks), timed=all(c.transcript.timed for c in chunks))


# ---- the join -------------------------------------------------------------------------------


def _join(before: list[Segment], after: list[Segment], lo: float, hi: float) -> tuple[list[Segment], list[Segment]]:
    """`before` and `after` with what both heard in [lo, hi] kept once."""
    first = next((i for i, s in enumerate(before) if s.end > lo), len(before))
    head, tail = before[:first], before[first:]  # only the tail can reach into the window
    last = next((i for i, s in enumerate(after) if s.start >= hi), len(after))
    window_after, rest = after[:last], after[last:]
    a = [t for t in _tokens(tail) if t.end > lo]
    b = [t for t in _tokens(window_after) if t.start < hi]
    if not a or not b:  # one side heard nothing in the overlap: nothing is there twice
        return before, after
    cut = _aligned_cut(a, b, (lo + hi) / 2)
    if cut is not None:
        keep_a = {(t.seg, t.pos) for t in _tokens(tail) if (t.seg, t.pos) <= (cut[0].seg, cut[0].pos)}
        keep_b = {(t.seg, t.pos) for t in _tokens(window_after) if (t.seg, t.pos) > (cut[1].seg, cut[1].pos)}
    else:
        mid = (lo + hi) / 2
        keep_a = {(t.seg, t.pos) for t in _tokens(tail) if _side_of(t, tail, mid) < 0}
        keep_b = {(t.seg, t.pos) for t in _tokens(window_after) if _side_of(t, window_after, mid) >= 0}
    return head + _kept(tail, keep_a), _kept(window_after, keep_b) + rest


def _aligned_cut(a: list[_Token], b: list[_Token], mid: float) -> tuple[_Token, _Token] | None:
    """The pair of matching tokens (one each side) to cut after, or None when the texts do not align."""
    if not a or not b:
        return None
    matcher = SequenceMatcher(None, [t.key for t in a], [t.key for t in b], autojunk=False)
    best: tuple[tuple[int, float], tuple[_Token, _Token]] | None = None
    estimated_tolerance = max(MATCH_TOLERANCE_S, _span(a, b))
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            x, y = a[block.a + k], b[block.b + k]
            if not x.key:
                continue
            tolerance = MATCH_TOLERANCE_S if x.timed and y.timed else estimated_tolerance
            if abs(x.mid - y.mid) > tolerance:
                continue
            score = (min(block.size, MAX_RUN), -abs((x.mid + y.mid) / 2 - mid))
            if best is None or score > best[0]:
                best = (score, (x, y))
    return best[1] if best else None


def _span(a: list[_Token], b: list[_Token]) -> float:
    """How far apart estimated (character-proportional) timings may put the same word: the window's width."""
    return max(t.end for t in a + b) - min(t.start for t in a + b)


def _side_of(token: _Token, segments: list[Segment], mid: float) -> int:
    """-1 before the cut, 1 after: a timed word by its own middle, an estimated one by its segment's."""
    if token.timed:
        centre = token.mid
    else:
        seg = segments[token.seg]
        centre = (seg.start + seg.end) / 2
    return -1 if centre < mid else 1


# ---- tokens ---------------------------------------------------------------------------------


def _tokens(segments: list[Segment]) -> list[_Token]:
    """Every segment's text tokens (aigw.transcripts.tokens), numbered by segment and position."""
    return [_Token(i, j, t.start, t.end, t.text, t.word is not None, t.word)
            for i, seg in enumerate(segments) for j, t in enumerate(tokens(seg))]


def _kept(segments: list[Segment], keep: set[tuple[int, int]]) -> list[Segment]:
    """Each segment with only the tokens in `keep`; one left with none is dropped."""
    out: list[Segment] = []
    tokens = _tokens(segments)
    for i, seg in enumerate(segments):
        mine = [t for t in tokens if t.seg == i]
        kept = [t for t in mine if (t.seg, t.pos) in keep]
        if len(kept) == len(mine):
            out.append(seg)
        elif kept:
            out.append(_trimmed(seg, mine, kept))
    return out


def _trimmed(seg: Segment, mine: list[_Token], kept: list[_Token]) -> Segment:
    start = seg.start if kept[0] is mine[0] else kept[0].start
    end = seg.end if kept[-1] is mine[-1] else kept[-1].end
    words = tuple(seg.words[t.word] for t in kept if t.word is not None)
    return replace(seg, start=start, end=end, text=" ".join(t.text for t in kept), words=words)


# ---- the whole ------------------------------------------------------------------------------


def _monotonic(segments: list[Segment]) -> list[Segment]:
    """Times that never go back: each segment (and word) starts no earlier than the one before ended."""
    out: list[Segment] = []
    floor = 0.0
    for seg in segments:
        start = max(seg.start, floor)
        words: list[Word] = []
        word_floor = start
        for w in seg.words:
            w_start = max(w.start, word_floor)
            words.append(replace(w, start=w_start, end=max(w.end, w_start)))
            word_floor = words[-1].end
        end = max(seg.end, start, word_floor)
        out.append(replace(seg, start=start, end=end, words=tuple(words)))
        floor = end
    return out


def _language(chunks: Sequence[Chunk]) -> str | None:
    found = Counter(c.transcript.language for c in chunks if c.transcript.language)
    return found.most_common(1)[0][0] if found else None


def _duration(chunks: Sequence[Chunk]) -> float | None:
    ends = [c.offset + c.transcript.duration for c in chunks if c.transcript.duration is not None]
    return max(ends) if len(ends) == len(chunks) else None
