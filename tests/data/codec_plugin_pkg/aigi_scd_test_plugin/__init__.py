"""Codecs for aigi-scd's entry-point tests."""
