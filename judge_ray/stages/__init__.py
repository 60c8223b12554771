"""The Self-Taught loop's stages as pure functions over rows and an engine.

Each `*_batch(engine, rows, ...)` is what one engine actor runs on one Ray Data batch; the rest are data
recipes (selection, pairing, rejection) with no model at all. None of this imports Ray: tests drive it with
a fake engine.
"""
