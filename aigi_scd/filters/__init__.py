"""Filters: decide which generated images are good enough to keep, and record why."""

from aigi_scd.filters.base import Candidate, Filter, FilterResult, encode_png, run_chain
from aigi_scd.filters.technical import Decodable, NotBlank, default_chain

__all__ = ["Candidate", "Decodable", "Filter", "FilterResult", "NotBlank", "default_chain", "encode_png", "run_chain"]
