"""The presentation layer: every word, unit, number and date a person reads, in fr, en, nl or de.

Data flows one way: the engine and planners return language-neutral results (maneuvers, typed
values); the API and the file writers word them here, at the edge, for the reader's language.
"""

from .facts import poi_sentence, terril_number
from .instructions import instruction_text, way_label, worded
from .results import in_language, poi_description, poi_descriptions, poi_name, render_result
from .warnings import warning_text, worded_warnings
from .words import FALLBACK, LANGUAGES, SHEET_LANGUAGE, Words, messages, words

__all__ = ["FALLBACK", "LANGUAGES", "SHEET_LANGUAGE", "Words", "in_language", "instruction_text", "messages",
           "poi_description", "poi_descriptions", "poi_name", "poi_sentence", "render_result", "terril_number",
           "warning_text", "way_label", "words", "worded", "worded_warnings"]
