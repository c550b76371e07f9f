"""The canonical transcript every provider's answer is parsed into, and every format rendered from.

Times are seconds on the timeline of the audio that was transcribed (a chunk's own, until
`aigw.transcripts.merge` shifts it onto the whole file's). `speaker` is 1-based, the number shown as
`[SPEAKER 1]`: providers' own labels (Deepgram's 0-based integers, OpenAI's "A", "B") are numbered
by their parser. Speaker numbers are per request: a chunked run keeps each chunk's own numbering,
since no provider links speakers across separate requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str  # without the leading space faster-whisper and OpenAI's verbose_json put before it
    speaker: int | None = None


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    speaker: int | None = None

    def shifted(self, seconds: float) -> Segment:
        return replace(self, start=self.start + seconds, end=self.end + seconds,
                       words=tuple(replace(w, start=w.start + seconds, end=w.end + seconds) for w in self.words))


@dataclass(frozen=True)
class Transcript:
    text: str
    segments: tuple[Segment, ...] = ()
    language: str | None = None
    duration: float | None = None
    # Whether the times are real (a provider's) or made up to hold the text (one segment spanning the audio).
    timed: bool = True
    extra: dict[str, object] = field(default_factory=dict)  # provider fields kept in json (usage, x_groq...)

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in s.words)

    @property
    def speakers(self) -> bool:
        return any(s.speaker is not None for s in self.segments)


def join_words(words: tuple[Word, ...] | list[Word]) -> str:
    return " ".join(w.word for w in words if w.word)


def text_of(segments: tuple[Segment, ...] | list[Segment]) -> str:
    return " ".join(s.text.strip() for s in segments if s.text.strip())


def untimed(text: str, *, duration: float | None, language: str | None = None) -> Transcript:
    """Text with no timestamps: one segment spanning the audio, marked so planning knows."""
    seg = (Segment(0.0, float(duration or 0.0), text.strip()),) if text.strip() else ()
    return Transcript(text=text, segments=seg, language=language, duration=duration, timed=False)


SENTENCE_END = (".", "?", "!", "。", "？", "！")


def group_words(words: list[Word] | tuple[Word, ...], *, max_s: float = 10.0, keep_words: bool = True) -> list[Segment]:
    """Segments of words, cut at sentence ends, at a change of speaker, or before one would pass `max_s`."""
    out: list[Segment] = []
    current: list[Word] = []

    def close() -> None:
        if current:
            out.append(Segment(current[0].start, current[-1].end, join_words(current),
                               tuple(current) if keep_words else (), current[0].speaker))
            current.clear()

    for word in words:
        if current and (word.end - current[0].start > max_s or word.speaker != current[0].speaker):
            close()
        current.append(word)
        if word.word.endswith(SENTENCE_END):
            close()
    close()
    return out


def without_speakers(transcript: Transcript) -> Transcript:
    segments = tuple(replace(s, speaker=None, words=tuple(replace(w, speaker=None) for w in s.words))
                     for s in transcript.segments)
    return replace(transcript, segments=segments)
