"""Model-free helpers: clock, codes, secrets, vocabularies."""
