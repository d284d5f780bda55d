"""Adoption: `mlpages check` (the commit-page problems of the work tree) and `mlpages init`."""
