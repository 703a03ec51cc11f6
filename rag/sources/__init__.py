"""What opens a source: a cited passage in its document, and where it is printed on its page."""

from rag.sources.highlight import Box, draw_highlight, passage_boxes
from rag.sources.passage import Passage, open_passage, readable_document

__all__ = ["Box", "Passage", "draw_highlight", "open_passage", "passage_boxes", "readable_document"]
