"""What a knob is: :class:`Field`, one row of the config's declarative table (``rnnviz.config.FIELDS``).

A Field knows its rule (kind, range or choices), how to check a Python value, how to parse and
format a URL parameter exactly, and how the sidebar shows it. Standard library only.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rnnviz.errors import RnnvizError, must

#: A slider with more positions than this (rho 0..10 by 0.05 has 201) also gets a number box.
FINE_SLIDER_STEPS = 100


@dataclass(frozen=True)
class Field:
    """One row of the declarative table: everything the app needs to know about a knob.

    ``kind`` is ``"choice" | "int" | "float" | "bool"``; ``lo``/``hi`` are inclusive bounds;
    ``log`` hints a log-scale slider; ``when = (other_field, values)`` says the knob only has
    an effect while ``other_field`` is one of ``values`` (the UI may hide or grey it out).

    How the sidebar shows it: ``label`` (words), ``choice_labels`` (choice -> words; a choice
    without one shows as itself), ``widget`` (``"input"``: select box, toggle or number box by
    kind; ``"slider"``, with ``step`` for floats), ``stops`` (common values a slider snaps to, e.g.
    10, 20, 50, ... for a sequence length) and ``main`` (0: under "More settings"; 1, 2, ...: the
    knob's place at the top of the sidebar). A slider with more than ``FINE_SLIDER_STEPS`` positions
    cannot be set by mouse: :attr:`exact_input` says it gets a number box beside it.
    """

    name: str
    kind: str
    default: Any
    help: str
    reason: str
    group: str
    label: str
    choices: tuple[str, ...] = ()
    lo: float | None = None
    hi: float | None = None
    log: bool = False
    when: tuple[str, tuple[str, ...]] | None = None
    choice_labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    widget: str = "input"
    step: float | None = None
    stops: tuple = ()
    main: int = 0

    @property
    def positions(self) -> int:
        """How many values a slider of this knob can take (its stops, else (hi - lo) / step + 1)."""
        if self.widget != "slider":
            return 0
        if self.stops:
            return len(self.stops)
        return int(round((self.hi - self.lo) / (self.step or 1))) + 1

    @property
    def exact_input(self) -> bool:
        """A slider too fine to set by mouse or arrow keys gets a number box beside it."""
        return self.widget == "slider" and (self.stops != () or self.positions > FINE_SLIDER_STEPS)

    def choice_label(self, value: str) -> str:
        """The words for one choice (the choice itself when it has none)."""
        return self.choice_labels.get(value, value)

    @property
    def rule(self) -> str:
        """The rule in words, as it appears in error messages."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "int":
            return f"an integer in {self.lo}..{self.hi}"
        if self.kind == "float":
            return f"a number in {self.lo!r}..{self.hi!r}"
        return "a boolean (true/false or 1/0)"

    def error(self, value: Any) -> RnnvizError:
        """``"<name> must be <rule>, got <value!r>"``, carrying ``.field``, ``.rule`` and ``.value``."""
        return must(self.name, "be " + self.rule, value, got=repr(value))

    def check(self, value: Any) -> Any:
        """Validate a Python value (from code or JSON) and return it coerced (int -> float)."""
        if self.kind == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
        elif self.kind == "bool":
            if isinstance(value, bool):
                return value
        elif self.kind == "int":
            if isinstance(value, int) and not isinstance(value, bool) and self.lo <= value <= self.hi:
                return int(value)
        else:  # float
            if (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
                and self.lo <= value <= self.hi
            ):
                return float(value)
        raise self.error(value)

    def parse(self, text: str) -> Any:
        """Parse a URL parameter leniently (case, spaces, ``-`` for ``_``, ``64.0`` for 64)."""
        s = str(text).strip()
        if self.kind == "choice":
            value: Any = s.lower().replace("-", "_")
        elif self.kind == "bool":
            low = s.lower()
            if low in ("1", "true", "yes", "on"):
                value = True
            elif low in ("0", "false", "no", "off"):
                value = False
            else:
                raise self.error(text)
        else:
            try:
                num = float(s)
            except ValueError:
                raise self.error(text) from None
            if self.kind == "int":
                if not (math.isfinite(num) and num == int(num)):
                    raise self.error(text)
                value = int(num)
            else:
                value = num
        try:
            return self.check(value)
        except RnnvizError:
            raise self.error(text) from None

    def format(self, value: Any) -> str:
        """Compact, stable text for the URL; ``parse(format(v)) == v`` exactly (floats via repr)."""
        if self.kind == "bool":
            return "1" if value else "0"
        if self.kind == "float":
            return repr(float(value))
        return str(value)
