"""Imported last by every worker pool's fork server: what the server imported is moved out of the garbage
collector's reach (``gc.freeze``), so a worker's collections neither scan those objects (a full collection of a
worker that imported torch and pyiqa takes about 175 ms, about 0 ms frozen) nor touch their pages, which the workers
then keep sharing with the server instead of copying them."""

import gc

gc.collect()
gc.freeze()
