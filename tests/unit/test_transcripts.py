"""The transcript model's renderers, cue shaping, parsers and format planning, without a provider.
SRT and WebVTT are read back by the independent `srt` and `webvtt-py` parsers."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
import srt
import webvtt

from aigw.errors import UsageError
from aigw.transcripts.cues import cues
from aigw.transcripts.formats import FormatUnavailable, Shape, user_body, wire_format
from aigw.transcripts.model import Segment, Transcript, Word
from aigw.transcripts.parse import from_body, openai_payload
from aigw.transcripts.render import render_transcript


def long_talk(hours: float, step: float = 7.5) -> Transcript:
    segments, t, i = [], 0.0, 0
    while t < hours * 3600:
        segments.append(Segment(t, t + step - 0.5, f"sentence number {i}."))
        t += step
        i += 1
    return Transcript(text=" ".join(s.text for s in segments), segments=tuple(segments), duration=hours * 3600)


def test_srt_past_one_hour_parses_with_hours_commas_and_numbering_from_one():
    talk = long_talk(3.2)
    body = render_transcript("srt", talk)
    subs = list(srt.parse(body))
    assert len(subs) == len(talk.segments)
    assert [s.index for s in subs] == list(range(1, len(subs) + 1))
    assert [(s.start.total_seconds(), s.end.total_seconds()) for s in subs] == [(x.start, x.end) for x in talk.segments]
    assert "\n01:00:00,000 --> 01:00:07,000\n" in body and "\n03:11:" in body and ".000 -->" not in body


def test_vtt_past_one_hour_parses_with_hours_and_dots():
    talk = long_talk(2.1)
    body = render_transcript("vtt", talk)
    assert body.startswith("WEBVTT")
    captions = webvtt.from_buffer(io.StringIO(body)).captions
    assert len(captions) == len(talk.segments)
    assert captions[480].start == "01:00:00.000" and captions[480].end == "01:00:07.000"
    assert [c.start_in_seconds for c in captions] == [int(s.start) for s in talk.segments]


def test_tsv_is_whispers_layout():
    talk = Transcript(text="a b", segments=(Segment(0.0, 1.2344, "Hello\tthere"), Segment(3661.5, 3662.0, " b ")))
    assert render_transcript("tsv", talk) == "start\tend\ttext\n0\t1234\tHello there\n3661500\t3662000\tb\n"
    back = from_body("tsv", render_transcript("tsv", talk))
    assert [(s.start, s.end, s.text) for s in back.segments] == [(0.0, 1.234, "Hello there"), (3661.5, 3662.0, "b")]


def test_cue_text_with_an_arrow_stays_one_cue():
    body = render_transcript("srt", Transcript(text="x", segments=(Segment(0, 1, "a --> b"),)))
    assert [s.content for s in srt.parse(body)] == ["a -> b"]


# ---- cues ---------------------------------------------------------------------------------------


def test_width_wraps_at_word_boundaries_and_count_cuts_cues_at_word_times():
    words = tuple(Word(float(i), i + 0.8, w) for i, w in enumerate("the quick brown fox jumps over the lazy dog".split()))
    seg = Segment(0.0, 9.0, "The quick brown fox jumps over the lazy dog.", words)
    shaped = cues([seg], max_line_width=10, max_line_count=2)
    assert [c.lines for c in shaped] == [("The quick", "brown fox"), ("jumps over", "the lazy"), ("dog.",)]
    assert [(c.start, c.end) for c in shaped] == [(0.0, 3.8), (4.0, 7.8), (8.0, 9.0)]


def test_without_word_times_cues_share_the_segment_by_characters():
    shaped = cues([Segment(10.0, 20.0, "aaaa bbbb cccc dddd")], max_line_width=9, max_line_count=1)
    assert [c.text for c in shaped] == ["aaaa bbbb", "cccc dddd"]
    assert shaped[0].start == 10.0 and shaped[-1].end == 20.0
    assert shaped[1].start == pytest.approx(15.0)  # half the characters, half the time


def test_a_word_longer_than_the_width_stands_alone_and_the_label_counts():
    shaped = cues([Segment(0, 4, "hi supercalifragilistic yo", speaker=2)], max_line_width=14)
    assert shaped[0].lines == ("[SPEAKER 2] hi", "supercalifragilistic", "yo")
    assert cues([Segment(0, 4, "one two", speaker=1)])[0].lines == ("[SPEAKER 1] one two",)


# ---- speakers in every format -------------------------------------------------------------------


SPOKEN = Transcript(text="Hi. Hello. How are you?", duration=6.0, segments=(
    Segment(0.0, 1.0, "Hi.", (Word(0.0, 1.0, "Hi.", 1),), 1),
    Segment(1.0, 2.0, "Hello.", (Word(1.0, 2.0, "Hello.", 2),), 2),
    Segment(2.0, 4.0, "How are you?", (Word(2.0, 4.0, "How", 2),), 2)))


def test_text_is_one_line_per_turn():
    assert render_transcript("text", SPOKEN) == "[SPEAKER 1] Hi.\n[SPEAKER 2] Hello. How are you?"
    assert "[SPEAKER 1] Hi." in render_transcript("tsv", SPOKEN)


def test_verbose_json_round_trips_segments_words_and_speakers():
    body = render_transcript("verbose_json", SPOKEN)
    assert json.loads(body)["segments"][1]["speaker"] == 2 and json.loads(body)["words"][0]["speaker"] == 1
    back = from_body("verbose_json", body)
    assert back.segments == SPOKEN.segments and back.text == SPOKEN.text and back.duration == 6.0


# ---- parsers -------------------------------------------------------------------------------------


def test_diarized_json_labels_become_numbers_in_order_of_appearance():
    payload = {"task": "transcribe", "duration": 9.0, "text": "x y z", "segments": [
        {"type": "transcript.text.segment", "id": "seg_0", "start": 0, "end": 2, "text": "x", "speaker": "agent"},
        {"type": "transcript.text.segment", "id": "seg_1", "start": 2, "end": 4, "text": "y", "speaker": "A"},
        {"type": "transcript.text.segment", "id": "seg_2", "start": 4, "end": 6, "text": "z", "speaker": "agent"}]}
    found = openai_payload(payload)
    assert [s.speaker for s in found.segments] == [1, 2, 1] and found.timed


def test_verbose_json_words_go_to_the_segment_they_start_in():
    payload = {"text": "a b c", "language": "english", "duration": 3.0,
               "segments": [{"start": 0.0, "end": 1.5, "text": " a b"}, {"start": 1.5, "end": 3.0, "text": " c"}],
               "words": [{"word": "a", "start": 0.0, "end": 0.5}, {"word": "b", "start": 0.9, "end": 1.5},
                         {"word": "c", "start": 1.6, "end": 3.2}]}
    found = openai_payload(payload)
    assert [[w.word for w in s.words] for s in found.segments] == [["a", "b"], ["c"]]
    assert found.segments[0].text == "a b" and found.language == "english"


def test_json_alone_is_untimed():
    found = from_body("json", '{"text": "just words"}', duration=5.0)
    assert not found.timed and found.segments == (Segment(0.0, 5.0, "just words"),)


# ---- planning the wire format ---------------------------------------------------------------------


WHISPER = ["json", "text", "srt", "vtt", "verbose_json"]


@pytest.mark.parametrize(("formats", "wanted", "shape", "wire"), [
    (WHISPER, "text", Shape(), "json"),
    (WHISPER, "srt", Shape(), "srt"),
    (WHISPER, "srt", Shape(max_line_width=30), "verbose_json"),
    (WHISPER, "tsv", Shape(), "verbose_json"),
    (WHISPER, "json", Shape(diarize=True), "verbose_json"),
    (["srt"], "tsv", Shape(), "srt"),
    (["json"], "text", Shape(), "json"),
    (["text"], "json", Shape(), "text"),
])
def test_wire_format(formats, wanted, shape, wire):
    assert wire_format("m", formats, wanted, shape) == wire


def test_a_timed_format_of_a_model_without_timestamps_is_refused_naming_others():
    with pytest.raises(FormatUnavailable) as caught:
        wire_format("gpt-4o-transcribe", ["json"], "srt", alternatives=["whisper-1", "nova-3"])
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == 2
    assert "returns no timestamps" in caught.value.message and "whisper-1, nova-3" in (caught.value.hint or "")


def test_user_body_keeps_a_native_body_and_rebuilds_otherwise():
    assert user_body("srt", "srt", "1\nraw", language=None, duration=None) == "1\nraw"
    body = json.dumps({"text": "a b", "segments": [{"start": 0, "end": 3661, "text": "a b"}]})
    out = user_body("srt", "verbose_json", body, language="en", duration=3661.0, shape=Shape(max_line_width=1))
    assert [s.content for s in srt.parse(out)] == ["a\nb"]  # a width alone wraps lines within the cue
    assert list(srt.parse(out))[-1].end == timedelta(seconds=3661)


# ---- providers' own answers (aigw.transcripts.native) ----------------------------------------------


def test_deepgram_utterances_carry_one_based_speakers_when_diarized():
    from aigw.transcripts.native import deepgram_segments

    alternative = {"words": [{"word": "hi", "punctuated_word": "Hi.", "start": 0.0, "end": 0.4, "speaker": 0},
                             {"word": "yo", "punctuated_word": "Yo.", "start": 0.5, "end": 0.9, "speaker": 1}],
                   "paragraphs": {"paragraphs": [{"speaker": 0, "sentences": [{"text": "Hi.", "start": 0.0, "end": 0.4}]},
                                                 {"speaker": 1, "sentences": [{"text": "Yo.", "start": 0.5, "end": 0.9}]}]}}
    utterances = [{"start": 0.0, "end": 0.4, "transcript": "Hi.", "speaker": 0},
                  {"start": 0.5, "end": 0.9, "transcript": "Yo.", "speaker": 1}]
    spoken = deepgram_segments(alternative, utterances, with_words=True, speakers=True)
    assert [(s.text, s.speaker, [w.speaker for w in s.words]) for s in spoken] == [("Hi.", 1, [1]), ("Yo.", 2, [2])]
    plain = deepgram_segments(alternative, utterances, with_words=False)
    assert [(s.text, s.speaker, s.words) for s in plain] == [("Hi.", None, ()), ("Yo.", None, ())]
    alone = deepgram_segments({"words": alternative["words"]}, None, with_words=False, speakers=True)
    assert [(s.text, s.speaker) for s in alone] == [("Hi.", 1), ("Yo.", 2)]  # a change of speaker cuts


def test_fal_chunks_fill_a_missing_end_and_whisper_segments_skip_broken_entries():
    from aigw.transcripts.native import fal_chunks, whisper_segments, with_flat_words

    chunks = fal_chunks([{"timestamp": [0.0, None], "text": " a"}, {"timestamp": [2.0, None], "text": " b"}], 5.0,
                        words=False)
    assert [(s.start, s.end) for s in chunks] == [(0.0, 2.0), (2.0, 5.0)]
    segments = whisper_segments([{"start": 0, "end": 1, "text": " x "}, {"start": "?", "end": 2, "text": "y"}, 7])
    assert segments == [Segment(0.0, 1.0, "x")]
    worded = with_flat_words(segments, [{"word": " x", "start": 0.1, "end": 0.5}, {"word": " z", "start": 1.5, "end": 2}])
    assert [w.word for w in worded[0].words] == ["x", "z"]  # after the last segment's end: the last segment's


# ---- any transcript renders to subtitles the independent parsers accept ------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_WORDS = st.text(alphabet=st.sampled_from("abcdefghij,.?->"), min_size=1, max_size=14)


@st.composite
def transcripts(draw):
    t, segments = draw(st.floats(0, 7200)), []
    for _ in range(draw(st.integers(1, 12))):
        words, start = [], t
        for _ in range(draw(st.integers(1, 10))):
            length = draw(st.floats(0.05, 2.0))
            words.append(Word(t, t + length, draw(_WORDS)))
            t += length + draw(st.floats(0, 1.0))
        timed = draw(st.booleans())
        segments.append(Segment(start, t, " ".join(w.word for w in words), tuple(words) if timed else (),
                                draw(st.one_of(st.none(), st.integers(1, 3)))))
    return Transcript(text=" ".join(s.text for s in segments), segments=tuple(segments))


@settings(max_examples=80, deadline=None)
@given(talk=transcripts(), width=st.one_of(st.none(), st.integers(1, 40)), count=st.one_of(st.none(), st.integers(1, 3)))
def test_shaped_cues_always_parse_keep_every_word_and_respect_the_width(talk, width, count):
    body = render_transcript("srt", talk, max_line_width=width, max_line_count=count)
    subs = list(srt.parse(body))
    assert [s.index for s in subs] == list(range(1, len(subs) + 1))
    assert all(s.end >= s.start for s in subs) and all(a.start <= b.start for a, b in zip(subs, subs[1:]))
    label = r"\[SPEAKER \d\] "
    import re

    shown = " ".join(re.sub(label, "", s.content.replace("\n", " ")) for s in subs).split()
    # A cue never carries "-->" (it separates a cue's times): any run of dashes before ">" is "->".
    assert shown == " ".join(re.sub(r"-{2,}>", "->", x.text) for x in talk.segments).split()
    if width is not None:
        for s in subs:
            for i, line in enumerate(s.content.split("\n")):
                assert len(line) <= width or " " not in re.sub(label, "", line).strip(), line
            if count is not None:
                assert len(s.content.split("\n")) <= count
    vtt = render_transcript("vtt", talk, max_line_width=width, max_line_count=count)
    assert len(webvtt.from_buffer(io.StringIO(vtt)).captions) == len(subs)


def test_no_cue_carries_the_arrow_that_separates_its_times():
    talk = Transcript(text="a ---> b --> c -> d", segments=(Segment(0.0, 2.0, "a ---> b --> c -> d", (), None),))
    for fmt, parse in (("srt", lambda body: [s.content for s in srt.parse(body)]),
                       ("vtt", lambda body: [c.text for c in webvtt.from_string(body)])):
        body = render_transcript(fmt, talk)
        assert parse(body) == ["a -> b -> c -> d"], fmt


def test_srt_vtt_and_tsv_give_a_cue_the_same_millisecond():
    talk = Transcript(text="one two", segments=(Segment(1.2346, 2.0004, "one", (), None),
                                                Segment(2.9999, 3.5, "two", (), None)))
    srt_starts = [s.start for s in srt.parse(render_transcript("srt", talk))]
    vtt_starts = [c.start for c in webvtt.from_string(render_transcript("vtt", talk))]
    tsv_starts = [line.split("\t")[0] for line in render_transcript("tsv", talk).splitlines()[1:]]
    assert srt_starts == [timedelta(seconds=1.235), timedelta(seconds=3)]
    assert vtt_starts == ["00:00:01.235", "00:00:03.000"]
    assert tsv_starts == ["1235", "3000"]
