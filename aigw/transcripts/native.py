"""Providers' own transcript answers (not OpenAI-shaped) as canonical segments. Pure: dicts in, model out.

* Deepgram `/v1/listen` (deepgram-python-sdk types/listen_v1response*.py, PROVIDERS.md §10):
  `results.channels[0].alternatives[0]` with `words[{word, punctuated_word, start, end, speaker}]` and
  `paragraphs.paragraphs[{speaker, sentences[{text, start, end}]}]`, and `results.utterances[{start,
  end, transcript, speaker}]`. Speakers (only with `diarize=true`) are 0-based there, 1-based here.
* faster-whisper `Segment`s (start, end, text, words[{start, end, word}]), from the `local` provider.
* fal whisper/wizper `chunks[{timestamp: [start, end], text}]` (the last end may be null).
* Whisper `segments[{start, end, text}]` as Replicate's openai/whisper and RunPod's
  worker-faster_whisper answer them, and RunPod's flat `word_timestamps[{word, start, end}]`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aigw.transcripts.model import Segment, Word, group_words

MAX_SEGMENT_S = 10.0  # words without sentences are grouped into segments of at most this long


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# ---- Deepgram -------------------------------------------------------------------------------


def deepgram_speaker(raw: Any) -> int | None:
    return raw + 1 if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else None


def deepgram_words(raw: Any, *, speakers: bool = False) -> list[Word]:
    """Words with their times (the punctuated form where there is one); with `speakers`, 1-based speakers."""
    out = []
    for w in raw if isinstance(raw, list) else []:
        if isinstance(w, dict) and _num(w.get("start")) is not None and _num(w.get("end")) is not None:
            token = w.get("punctuated_word") or w.get("word")
            if isinstance(token, str):
                out.append(Word(float(w["start"]), float(w["end"]), token,
                                deepgram_speaker(w.get("speaker")) if speakers else None))
    return out


def deepgram_segments(alternative: dict[str, Any], utterances: Any, *, with_words: bool,
                      speakers: bool = False) -> list[Segment]:
    """Segments from the paragraphs' sentences, else the utterances, else the words grouped into
    sentences. With speakers the utterances come first: Deepgram cuts them at every change of speaker."""
    words = deepgram_words(alternative.get("words"), speakers=speakers)

    def own(start: float, end: float) -> tuple[Word, ...]:
        return tuple(w for w in words if start <= w.start < end) if with_words else ()

    def utterance_segments() -> list[Segment]:
        return [Segment(float(u.get("start") or 0), float(u.get("end") or 0), str(u.get("transcript") or ""),
                        own(float(u.get("start") or 0), float(u.get("end") or 0)),
                        deepgram_speaker(u.get("speaker")) if speakers else None)
                for u in utterances if isinstance(u, dict)]

    if speakers and isinstance(utterances, list) and utterances:
        return utterance_segments()
    block = alternative.get("paragraphs")
    paragraphs = block.get("paragraphs") if isinstance(block, dict) else None
    sentences = [(s, p.get("speaker")) for p in paragraphs or [] if isinstance(p, dict)
                 for s in p.get("sentences") or [] if isinstance(s, dict) and isinstance(s.get("text"), str)]
    if sentences:
        return [Segment(float(s.get("start") or 0), float(s.get("end") or 0), s["text"],
                        own(float(s.get("start") or 0), float(s.get("end") or 0)),
                        deepgram_speaker(who) if speakers else None) for s, who in sentences]
    if isinstance(utterances, list) and utterances:
        return utterance_segments()
    return group_words(words, max_s=MAX_SEGMENT_S, keep_words=with_words)


# ---- faster-whisper -------------------------------------------------------------------------


def faster_whisper_segments(pieces: Iterable[Any]) -> list[Segment]:
    """faster-whisper's segment objects (a generator: transcription happens as it is read)."""
    return [Segment(start=s.start, end=s.end, text=s.text.strip(),
                    words=tuple(Word(w.start, w.end, w.word.strip()) for w in (s.words or ())))
            for s in pieces]


# ---- fal --------------------------------------------------------------------------------------


def fal_chunks(chunks: Any, duration: float | None, *, words: bool) -> list[Segment]:
    """`chunks[{timestamp: [start, end], text}]`; Whisper leaves the last end null at times. With
    `chunk_level=word` each chunk is a word, kept as the segment's one word when `words`."""
    if not isinstance(chunks, list):
        return []
    items = [c for c in chunks if isinstance(c, dict) and isinstance(c.get("text"), str)]
    out: list[Segment] = []
    for i, chunk in enumerate(items):
        stamp = chunk.get("timestamp")
        stamp = stamp if isinstance(stamp, (list, tuple)) else []
        start = _num(stamp[0]) if len(stamp) > 0 else None
        start = start if start is not None else (out[-1].end if out else 0.0)
        end = _num(stamp[1]) if len(stamp) > 1 else None
        if end is None:
            nxt = items[i + 1].get("timestamp") if i + 1 < len(items) else None
            following = _num(nxt[0]) if isinstance(nxt, (list, tuple)) and nxt else None
            end = following if following is not None else (duration or start)
        text = chunk["text"]
        word = (Word(start, end, text.strip()),) if words else ()
        out.append(Segment(start, end, text, word))
    return out


# ---- Whisper segments (Replicate, RunPod) --------------------------------------------------------


def whisper_segments(raw: Any) -> list[Segment]:
    """`segments[{start, end, text, ...}]`; an entry without numeric times or text is skipped."""
    out = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        start, end, text = _num(item.get("start")), _num(item.get("end")), item.get("text")
        if start is not None and end is not None and isinstance(text, str):
            out.append(Segment(start=start, end=end, text=text.strip()))
    return out


def with_flat_words(segments: list[Segment], raw: Any) -> list[Segment]:
    """A flat `[{word, start, end}]` list (RunPod's `word_timestamps`) attached to the segments
    the words start in; words after the last segment's end go to it."""
    words = [Word(float(w["start"]), float(w["end"]), str(w["word"]).strip()) for w in raw if isinstance(w, dict)
             and {"start", "end", "word"} <= set(w)] if isinstance(raw, list) else []
    if not words or not segments:
        return segments
    out = []
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        mine = tuple(w for w in words if seg.start <= w.start < seg.end or (last and w.start >= seg.start))
        out.append(Segment(seg.start, seg.end, seg.text, mine))
    return out
