"""Preprocessing functions used inside the model Pipeline (importable, so the pickle can load them).

They live in their own module, not in ``train``: a stage run as ``python -m`` is ``__main__``, and
functions pickled from ``__main__`` cannot be found when the model is loaded elsewhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

CLIP = 10.0


def to_finite(frame: Any) -> np.ndarray:
    """Numeric matrix with non-numbers and ±inf as NaN (so the imputer fills them)."""
    import numpy as np
    import pandas as pd

    table = pd.DataFrame(frame).apply(pd.to_numeric, errors="coerce")
    values = np.array(table.to_numpy(dtype=float, na_value=np.nan), copy=True)
    values[~np.isfinite(values)] = np.nan
    return values


def clip_scaled(values: np.ndarray) -> np.ndarray:
    """Clip standardised values so one absurd input cannot dominate (or overflow) a prediction."""
    import numpy as np

    return np.clip(values, -CLIP, CLIP)


def to_text(frame: Any) -> np.ndarray:
    """Categorical values as strings, missing as ``"missing"`` (one type for the encoder)."""
    import pandas as pd

    table = pd.DataFrame(frame)
    return table.astype(object).where(table.notna(), "missing").astype(str).to_numpy(dtype=object)
