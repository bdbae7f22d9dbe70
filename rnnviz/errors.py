"""The one public error type of rnnviz.

Every problem a user can cause (bad config, bad input tensor, malformed upload,
out-of-range URL parameter) raises :class:`RnnvizError` with a message that states
the rule and the value, e.g. ``"x must have 8 features (module.input_size), got 5"``.
It subclasses ``ValueError`` so generic callers that catch ``ValueError`` keep working.
"""


class RnnvizError(ValueError):
    """A user-facing error: the message names the rule and the offending value."""
