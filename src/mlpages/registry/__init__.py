"""The model registry in GTO tags: tag names, resolved state, git reads, tag writes."""
