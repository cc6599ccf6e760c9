"""Vigil: run and evaluate a supervised consumption site."""

__version__ = "0.1.0"
