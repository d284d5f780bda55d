"""Run a stage's ``main()``: expected failures become one line on stderr and a non-zero exit."""

from __future__ import annotations

import sys
from collections.abc import Callable

from mlpages.errors import MlpagesError


def run(main: Callable[[], None]) -> None:
    """Call ``main``; an :class:`MlpagesError` is shown as ``mlpages`` shows it, with its code."""
    try:
        main()
    except MlpagesError as exc:
        exc.show()
        sys.exit(exc.exit_code)
