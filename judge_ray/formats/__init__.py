"""Prompt formats and their parsers. Pure text: no model, no Ray, so they are unit-tested alone."""
