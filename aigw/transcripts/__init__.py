"""Transcripts: one canonical model (`model`), parsers from each provider's answer into it (`parse`),
renderers into every format aigw offers (`render`, with cue shaping in `cues`), and the merge of
chunk transcripts into one (`merge`)."""

from aigw.transcripts.model import Segment, Transcript, Word, group_words, text_of, untimed
from aigw.transcripts.render import LANGUAGE_NAMES, plain_text, render

__all__ = ["LANGUAGE_NAMES", "Segment", "Transcript", "Word", "group_words", "plain_text", "render", "text_of",
           "untimed"]
