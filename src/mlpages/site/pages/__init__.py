"""Page families: each module's pages(site) yields its pages (see build.PAGE_FAMILIES)."""
