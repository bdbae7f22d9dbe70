"""The one public error type of rnnviz.

Every problem a user can cause (bad config, bad input tensor, malformed upload,
out-of-range URL parameter) raises :class:`RnnvizError` with a message that states
the rule and the value, e.g. ``"x must have 8 features (module.input_size), got 5"``.
It subclasses ``ValueError`` so generic callers that catch ``ValueError`` keep working.
"""

from __future__ import annotations

from typing import Any


class RnnvizError(ValueError):
    """A user-facing error: the message names the rule and the offending value.

    ``field`` (the knob or input it is about), ``rule`` (what it must be, in words) and ``value``
    (what it was) are set when the error is about one value, so the app can point at its widget.
    """

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None, value: Any = None):
        super().__init__(message)
        self.field, self.rule, self.value = field, rule, value


def must(field: str, rule: str, value: Any, *, got: str | None = None) -> RnnvizError:
    """The error for a value that breaks a rule: ``"<field> must <rule>, got <got>"``.

    ``rule`` starts with its verb ("be an integer in 1..256", "not be empty"); ``got`` is how the
    value is shown (default ``str(value)``). The one way rnnviz words such an error.
    """
    return RnnvizError(f"{field} must {rule}, got {value if got is None else got}", field=field, rule=rule,
                       value=value)
