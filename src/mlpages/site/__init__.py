"""The static report site: ``build_site(repo, out)`` gathers the history and writes the pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlpages.site.build import BuildReport


def build_site(*args: Any, **kwargs: Any) -> BuildReport:
    """Build the site of a repository; see :func:`mlpages.site.build.build_site`."""
    from mlpages.site.build import build_site as build

    return build(*args, **kwargs)
