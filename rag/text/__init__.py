"""Text as the system reads and shows it: language, Korean morphemes, headings, display."""
