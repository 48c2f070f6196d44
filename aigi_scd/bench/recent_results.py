"""Results of a function of one image tensor remembered for the last few inputs, and a library function replaced for
one call by such a twin: how bench/fast_metrics.py computes the original's side of a metric once per image while the
library's own code computes every number."""

from __future__ import annotations

import weakref
from collections.abc import Callable

# Every RecentResults made, so that what they hold of an image can be dropped when its work ends (forget_images).
_ALL: weakref.WeakSet[RecentResults] = weakref.WeakSet()


class RecentResults:
    """A function of one image tensor, remembering its results for the last `size` distinct inputs.

    Every reconstruction of an image is scored against the same original, so the original's side of a metric (its
    phase congruency for FSIM, its saliency map for VSI, its Laplacian pyramid for NLPD, its local statistics for
    SSIM) is the same computation each time: remembered, it is done once per image. The library's own function
    computes every result, so the scores are the ones it gives; the results are shared, which is safe for the
    callers here (they do not change them in place).

    `by` says what makes two inputs the same: ``"content"`` (equal shape, dtype and values: the input is held beside
    its result and compared whole, which costs a tenth of hashing its bytes), ``"identity"`` (the same tensor object,
    unchanged since: for inputs the Scorer passes again as they are), or ``"shape"`` (the result depends on no
    pixel). Held inputs keep their ids their own while their results are remembered.
    """

    def __init__(self, function: Callable, size: int = 2, by: str = "content"):
        if by not in ("content", "identity", "shape"):
            raise ValueError(f"by must be content, identity or shape, not {by!r}")
        self.function, self.size, self.by = function, size, by
        self.results: list[tuple[tuple, object, int, object]] = []  # (key, input, its version, result), latest last
        _ALL.add(self)

    def _same(self, held, version: int, x) -> bool:
        import torch

        if self.by == "shape":
            return True
        if held._version != version:  # changed in place since: no longer what the result was computed from
            return False
        return held is x or (self.by == "content" and bool(torch.equal(held, x)))

    def __call__(self, x, *args, **kwargs):
        key = (tuple(x.shape), str(x.dtype), str(x.device), args, tuple(sorted(kwargs.items())))
        for i in range(len(self.results) - 1, -1, -1):
            held_key, held, version, result = self.results[i]
            if held_key == key and self._same(held, version, x):
                self.results.append(self.results.pop(i))
                return result
        result = self.function(x, *args, **kwargs)
        held = None if self.by == "shape" else x
        self.results.append((key, held, 0 if held is None else x._version, result))
        del self.results[: -self.size]
        return result


def forget_images() -> None:
    """Drop every remembered result that depends on an image's pixels (those by size stay): called when a worker's
    work on an original ends, so that what the metrics kept of it (about 130 MB at 1024²) is not held through the
    next image's encodes."""
    for recent in list(_ALL):
        if recent.by != "shape":
            recent.results.clear()


def _patched(module, name: str, memo: dict[str, RecentResults], by: str = "content", size: int = 2):
    """`module.name` replaced, for one call, by its remembering twin (kept across calls in `memo`)."""
    return _patched_with(module, name, None, memo, by, size)


def _patched_with(module, name: str, function, memo: dict[str, RecentResults], by: str = "content", size: int = 2):
    """`module.name` replaced, for one call, by a remembering twin of `function` (the module's own when None), kept
    across calls in `memo`."""
    import contextlib

    @contextlib.contextmanager
    def patch():
        original = getattr(module, name)
        computes = original if function is None else function
        if name not in memo or memo[name].function is not computes:
            memo[name] = RecentResults(computes, size=size, by=by)
        setattr(module, name, memo[name])
        try:
            yield
        finally:
            setattr(module, name, original)

    return patch()
