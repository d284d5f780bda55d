"""Text for readers from repository values that a naive ``str``/``float`` would choke on.

Git paths and ref names are bytes, not necessarily UTF-8: the history engine decodes them with
``surrogateescape`` (``os.fsdecode``), so a name keeps its identity but may hold lone surrogates
that no UTF-8 writer accepts. Everything written for a reader (pages, the PR comment) goes
through :func:`utf8_text` once, at the end. JSON and YAML integers are arbitrary precision:
``float()`` of ``10**400`` raises, so sizes and deltas are formatted without it when needed.
"""

from __future__ import annotations

SIZE_UNITS = ("B", "KB", "MB", "GB", "TB")


def utf8_text(text: str) -> str:
    """``text`` with every lone surrogate (an undecodable byte) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # UTF-16 with surrogatepass keeps each lone surrogate as one code unit; decoding it
        # with "replace" turns each into exactly one U+FFFD (and leaves valid pairs whole).
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def general_number(value: int | float, digits: int) -> str:
    """``f"{value:.{digits}g}"``, also for an integer beyond the float range (``1e+400``)."""
    try:
        return f"{value:.{digits}g}"
    except OverflowError:
        text = str(abs(int(value)))
        mantissa = text[0] + ("." + text[1:digits].rstrip("0") if digits > 1 else "")
        sign = "-" if value < 0 else ""
        return f"{sign}{mantissa.rstrip('.')}e+{len(text) - 1}"


def human_size(size: int) -> str:
    """``1834929`` -> ``1.7 MB`` (powers of 1024, up to TB), for any integer however large."""
    if abs(size) < 1024:
        return f"{size} B"
    unit = 0
    while abs(size) >= 1024 ** (unit + 1) and unit < len(SIZE_UNITS) - 1:
        unit += 1
    try:
        return f"{size / 1024**unit:.1f} {SIZE_UNITS[unit]}"
    except OverflowError:  # more terabytes than a float holds: a lock's claim, not a file
        return f"{general_number(size // 1024**unit, 3)} {SIZE_UNITS[unit]}"
