"""Markdown pages from the stores: a study's page, the README's headline table, each report's tables beside the
published numbers, and their setup differences."""
