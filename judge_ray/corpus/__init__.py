"""Instruction corpora as people publish them: layouts, filters and the Ray Data read that applies them."""
