"""Imported first by every worker pool's fork server (and at the start of a spawned worker): the dependencies that
server and its workers import print nothing into the command's output (:mod:`aigi_scd.weights.quiet_imports`)."""

from aigi_scd.weights.quiet_imports import install

install()
