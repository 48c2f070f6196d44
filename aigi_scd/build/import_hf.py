"""Hugging Face datasets already on disk as ``aigi-scd import`` inputs: a folder written by
``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk`` (read with ``datasets.load_from_disk``), or an
imagefolder — images plus a ``metadata.jsonl``/``.csv``/``.parquet`` naming each ``file_name`` and its
prompt (read with ``datasets.load_dataset("imagefolder", data_dir=...)``).

Image columns are read undecoded (``Image(decode=False)``: the original file's bytes, or its path), so an
original is never re-encoded on its way in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from aigi_scd.build.import_inputs import ImportInput, RawRow
from aigi_scd.errors import ConfigError


@contextlib.contextmanager
def _progress(shown: bool):
    """datasets' own progress bars (building an imagefolder's cache), hidden when the import is quiet."""
    import datasets

    was_enabled = not datasets.are_progress_bars_disabled()
    if not shown:
        datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled and not shown:
            datasets.enable_progress_bars()


def is_saved_dataset(folder: Path) -> bool:
    """A folder `save_to_disk` wrote: a DatasetDict (``dataset_dict.json``) or a Dataset (state and info)."""
    folder = Path(folder)
    return (folder / "dataset_dict.json").is_file() or (
        (folder / "state.json").is_file() and (folder / "dataset_info.json").is_file()
    )


def _pick_split(splits: dict[str, Any], split: str | None, where: Path) -> tuple[str, Any]:
    names = list(splits)
    if split is not None:
        if split not in splits:
            raise ConfigError(f"{where}: no split {split!r}; it has {', '.join(names)} (choose with --split)")
        return split, splits[split]
    if len(names) == 1:
        return names[0], splits[names[0]]
    if "train" in splits:
        return "train", splits["train"]
    raise ConfigError(f"{where}: holds splits {', '.join(names)}; choose one with --split")


def _dataset_input(dataset: Any, path: Path, form: str, split: str | None, base: Path) -> ImportInput:
    from datasets import Image

    for name, feature in dataset.features.items():
        if isinstance(feature, Image):
            dataset = dataset.cast_column(name, Image(decode=False))
    label = f"{path.name}[{split}]" if split else path.name

    def read(wanted: Callable[[int], bool]) -> Iterator[RawRow]:
        for ordinal, values in enumerate(dataset):
            if wanted(ordinal):
                yield RawRow(ordinal, f"{label} row {ordinal + 1}", ordinal + 1, dict(values))

    fingerprint = f"{form}:{split}:{dataset._fingerprint}"
    return ImportInput(path, form, fingerprint, len(dataset), read, base, list(dataset.column_names))


def saved_dataset_input(folder: Path, split: str | None, images_dir: Path | None, progress: bool = True) -> ImportInput:
    """A `save_to_disk` folder; a DatasetDict's split is `split`, its only one, or ``train``."""
    from datasets import DatasetDict, load_from_disk

    try:
        with _progress(progress):
            loaded = load_from_disk(str(folder))
    except Exception as exc:  # datasets raises FileNotFoundError, ValueError or its own errors for a damaged folder
        raise ConfigError(f"{folder}: datasets.load_from_disk cannot read it ({exc})") from None
    name = None
    if isinstance(loaded, DatasetDict):
        name, loaded = _pick_split(dict(loaded), split, folder)
    elif split is not None:
        raise ConfigError(f"{folder}: a single dataset has no splits; drop --split")
    return _dataset_input(loaded, folder, "hf-dataset", name, Path(images_dir) if images_dir else folder)


def imagefolder_input(folder: Path, split: str | None, progress: bool = True) -> ImportInput:
    """An imagefolder: its images with the prompts of its metadata file, read by datasets' imagefolder builder."""
    from datasets import load_dataset

    try:
        with _progress(progress):
            loaded = load_dataset("imagefolder", data_dir=str(folder))
    except Exception as exc:  # the builder raises several error types for a malformed metadata file
        raise ConfigError(f"{folder}: datasets cannot read it as an imagefolder ({exc})") from None
    name, dataset = _pick_split(dict(loaded), split, folder)
    return _dataset_input(dataset, folder, "imagefolder", name, folder)
