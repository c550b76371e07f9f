"""The chunk merge, on synthetic recordings whose every word is known.

A recording is a run of unique words on one timeline. It is cut into overlapping chunks; each
chunk's "provider" hears the words inside it (a word cut by the chunk's edge heard or not, at
random), reports times relative to the chunk's start with some jitter, and groups words into
segments, with or without word timings. The merge must give every word once, in order, with times
that never go back, covering the whole recording.
"""

from __future__ import annotations

import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from aigw.transcripts.merge import Chunk, merge
from aigw.transcripts.model import Segment, Transcript, Word

JITTER_S = 0.2


def speech(rng: random.Random, n: int) -> list[Word]:
    """`n` unique words, each 0.2-0.7 s long with 0-0.6 s pauses."""
    out, t = [], 0.3
    for i in range(n):
        start = t + rng.uniform(0.0, 0.6)
        end = start + rng.uniform(0.2, 0.7)
        out.append(Word(round(start, 3), round(end, 3), f"w{i}"))
        t = end
    return out


def chunk_of(rng: random.Random, words: list[Word], lo: float, hi: float, *, with_words: bool,
             punctuate: bool) -> Transcript:
    """What a provider returns for the audio in [lo, hi]: relative, jittered times; edge words maybe."""
    heard: list[Word] = []
    for w in words:
        inside = lo <= w.start and w.end <= hi
        cut = (w.start < lo < w.end) or (w.start < hi < w.end)
        if inside or (cut and rng.random() < 0.5):
            # In speaking order, as a provider reports them: jitter never puts a word before the last.
            start = max(0.0, w.start - lo + rng.uniform(-JITTER_S, JITTER_S), heard[-1].start if heard else 0.0)
            end = max(start + 0.05, w.end - lo + rng.uniform(-JITTER_S, JITTER_S))
            token = w.word + ("," if punctuate and rng.random() < 0.2 else "")
            heard.append(Word(start, end, token.capitalize() if punctuate and rng.random() < 0.2 else token))
    segments, i = [], 0
    while i < len(heard):
        size = rng.randint(1, 8)
        group = heard[i:i + size]
        i += size
        segments.append(Segment(group[0].start, group[-1].end, " ".join(w.word for w in group),
                                tuple(group) if with_words else ()))
    return Transcript(text=" ".join(s.text for s in segments), segments=tuple(segments), duration=hi - lo)


def chunked(rng: random.Random, words: list[Word], *, length: float, overlap: float, with_words: bool,
            punctuate: bool = False) -> tuple[list[Chunk], float]:
    total = words[-1].end + 0.5
    chunks, lo = [], 0.0
    while True:
        hi = min(lo + length, total)
        chunks.append(Chunk(chunk_of(rng, words, lo, hi, with_words=with_words, punctuate=punctuate), offset=lo,
                            overlap=overlap if lo > 0 else 0.0))
        if hi >= total:
            return chunks, total
        lo = hi - overlap


def tokens(text: str) -> list[str]:
    return [re.sub(r"[^\w]", "", t).lower() for t in text.split()]


def assert_monotonic(result: Transcript) -> None:
    previous_end = 0.0
    for seg in result.segments:
        assert seg.start >= previous_end - 1e-9, (seg, previous_end)
        assert seg.end >= seg.start
        word_floor = seg.start
        for w in seg.words:
            assert w.start >= word_floor - 1e-9 and w.end >= w.start
            word_floor = w.end
        previous_end = seg.end


def interior(words: list[Word], chunks: list[Chunk]) -> set[str]:
    """Words no chunk edge cuts: every chunk that holds any of such a word holds all of it."""
    edges = [c.offset for c in chunks] + [c.offset + (c.transcript.duration or 0) for c in chunks]
    return {w.word for w in words if not any(w.start - JITTER_S < e < w.end + JITTER_S for e in edges)}


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(20, 160), length=st.floats(12.0, 40.0),
       overlap=st.floats(3.0, 6.0), with_words=st.booleans(), punctuate=st.booleans())
def test_every_word_once_in_order(seed: int, n: int, length: float, overlap: float, with_words: bool,
                                  punctuate: bool) -> None:
    rng = random.Random(seed)
    words = speech(rng, n)
    chunks, total = chunked(rng, words, length=length, overlap=overlap, with_words=with_words, punctuate=punctuate)
    result = merge(chunks)
    got = tokens(result.text)
    assert len(got) == len(set(got)), f"duplicated at a join: {[t for t in got if got.count(t) > 1]}"
    order = [int(t[1:]) for t in got]
    assert order == sorted(order), "words out of order"
    # Every word the chunks agree on is there; a word cut by an edge may be missing only if no chunk heard it whole.
    assert interior(words, chunks) <= set(got)
    assert_monotonic(result)
    assert result.duration is not None and abs(result.duration - total) < 1e-6
    assert result.segments[0].start <= words[0].start + JITTER_S
    assert result.segments[-1].end >= words[-1].end - JITTER_S - 1e-6


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(30, 120))
def test_words_keep_their_own_timings(seed: int, n: int) -> None:
    rng = random.Random(seed)
    words = speech(rng, n)
    chunks, _ = chunked(rng, words, length=20.0, overlap=5.0, with_words=True)
    result = merge(chunks)
    truth = {w.word: w for w in words}
    for w in result.words:
        assert abs(w.start - truth[w.word].start) <= JITTER_S + 1e-6  # shifted by the chunk's offset, nothing else
    assert [w.word for w in result.words] == tokens(result.text)


def test_a_join_cuts_inside_a_segment_on_both_sides() -> None:
    """Chunk 2 starts at 10 s with 4 s of overlap; both heard 'c d e' (10-13 s) inside longer segments."""
    first = Transcript(text="a b c d e", duration=14.0, segments=(
        Segment(8.0, 13.5, "a b c d e", tuple(Word(8.0 + i, 8.8 + i, t) for i, t in enumerate("abcde"))),))
    second = Transcript(text="c d e f g", duration=20.0, segments=(
        Segment(0.0, 4.8, "c d e f g", tuple(Word(float(i), i + 0.8, t) for i, t in enumerate("cdefg"))),))
    result = merge([Chunk(first, 0.0), Chunk(second, 10.0, overlap=4.0)])
    assert result.text == "a b c d e f g"
    assert [w.word for w in result.words] == list("abcdefg")
    # Cut after 'e' (its middle, 12.4 s, is the nearest to the window's, 12 s): the first segment is whole,
    # the second keeps 'f g' and starts where the first ended, so the cues do not overlap.
    assert [(s.start, s.end, s.text) for s in result.segments] == [(8.0, 13.5, "a b c d e"), (13.5, 14.8, "f g")]
    assert result.duration == 30.0


def test_without_word_timings_text_aligns_segments() -> None:
    """No word timings: the overlap's words are matched by text, and each side's segment is trimmed."""
    first = Transcript(text="one two three four five six", duration=30.0, segments=(
        Segment(0.0, 20.0, "one two three four five six"),
        Segment(24.0, 29.8, "Seven eight nine."),))
    second = Transcript(text="eight nine, ten eleven", duration=30.0, segments=(
        Segment(0.2, 8.0, "eight nine, ten eleven"),))
    result = merge([Chunk(first, 0.0), Chunk(second, 25.0, overlap=5.0)])
    assert tokens(result.text) == "one two three four five six seven eight nine ten eleven".split()
    assert result.text.startswith("one two three four five six Seven eight nine")  # each side's own spelling
    assert_monotonic(result)


def test_without_alignment_the_window_middle_cuts() -> None:
    """The two chunks heard the overlap differently: segments go by their middle against the window's."""
    first = Transcript(text="x", duration=30.0, segments=(
        Segment(10.0, 20.0, "early words"), Segment(25.5, 27.0, "garbled tail"), Segment(28.0, 29.5, "edge bit")))
    second = Transcript(text="y", duration=30.0, segments=(
        Segment(0.0, 1.0, "noise"), Segment(3.0, 4.5, "clean later"), Segment(6.0, 9.0, "more speech")))
    result = merge([Chunk(first, 0.0), Chunk(second, 25.0, overlap=5.0)])
    # window 25-30, middle 27.5: 'garbled tail' (26.25) stays, 'edge bit' (28.75) goes; 'noise' (25.5) goes.
    assert [s.text for s in result.segments] == ["early words", "garbled tail", "clean later", "more speech"]


def test_speakers_are_kept_per_chunk() -> None:
    one = Transcript(text="hi there", duration=10.0, segments=(Segment(1.0, 2.0, "hi there", speaker=1),))
    two = Transcript(text="hello back", duration=10.0, segments=(Segment(3.0, 4.0, "hello back", speaker=2),))
    result = merge([Chunk(one, 0.0), Chunk(two, 8.0, overlap=2.0)])
    assert [(s.text, s.speaker, s.start) for s in result.segments] == [("hi there", 1, 1.0), ("hello back", 2, 11.0)]


def test_edge_cases() -> None:
    assert merge([]).text == ""
    silent = Transcript(text="", duration=10.0)
    spoken = Transcript(text="words here", duration=10.0, segments=(Segment(1.0, 2.0, "words here"),), language="en")
    result = merge([Chunk(silent, 0.0), Chunk(spoken, 9.0, overlap=1.0), Chunk(silent, 18.0, overlap=1.0)])
    assert result.text == "words here" and result.segments[0].start == 10.0
    assert result.duration == 28.0 and result.language == "en"
    assert merge([Chunk(Transcript(text="a", segments=(Segment(0, 1, "a"),)), 0.0)]).duration is None


def test_words_heard_by_one_side_only_in_the_overlap_are_kept():
    """The first chunk fell silent before the overlap; the second heard words early in it."""
    first = Transcript(text="before", duration=30.0, segments=(Segment(5.0, 20.0, "before"),))
    second = Transcript(text="early words", duration=30.0, segments=(
        Segment(0.5, 1.5, "early", (Word(0.5, 1.5, "early"),)), Segment(2.0, 3.0, "words", (Word(2.0, 3.0, "words"),))))
    assert merge([Chunk(first, 0.0), Chunk(second, 25.0, overlap=5.0)]).text == "before early words"
    assert merge([Chunk(second, 0.0), Chunk(first, 2.5, overlap=0.5)]).text == "early words before"


def test_a_cut_segment_keeps_its_punctuation_when_its_words_have_none():
    """OpenAI's word timings are bare words; the text cut at the join keeps the segment's own spelling."""
    words = tuple(Word(8.0 + i, 8.8 + i, t) for i, t in enumerate(["hello", "there", "general", "kenobi"]))
    first = Transcript(text="x", duration=12.0, segments=(Segment(8.0, 11.8, "Hello, there. General Kenobi!", words),))
    later = tuple(Word(float(i), i + 0.8, t) for i, t in enumerate(["general", "kenobi", "you", "are"]))
    second = Transcript(text="y", duration=10.0, segments=(Segment(0.0, 3.8, "General Kenobi! You are", later),))
    result = merge([Chunk(first, 0.0), Chunk(second, 10.0, overlap=2.0)])
    assert result.text == "Hello, there. General Kenobi! You are"
    assert [w.word for w in result.words] == ["hello", "there", "general", "kenobi", "you", "are"]
