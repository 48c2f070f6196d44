"""Codecs from outside the package, behind the same interface and rate control: Python classes (by preset or by an
installed package's ``aigi_scd.codecs`` entry point), command-line programs, CompressAI models, and results made
elsewhere (bitstreams and reconstructions in a folder)."""
