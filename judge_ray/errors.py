"""User-facing errors: a mistake in input or config must end in one clear line, never a stack trace."""
from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix (bad config, missing file, finished run dir). Jobs print it on one line."""


class ConfigError(UserError):
    """The config tree has an unknown key, a wrong type or an invalid value."""


class InputError(UserError):
    """An input file (instructions, labelled pairs) is missing, empty or malformed."""
