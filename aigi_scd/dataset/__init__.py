"""The on-disk contract every stage reads and writes: atomic files, WebDataset shards and their stats,
the sample json, the staged swap, and the dataset cards that make ``datasets.load_dataset(OUT)`` work.

The ground floor: it imports nothing above it, so any stage may use it.
"""
