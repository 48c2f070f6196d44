"""A plugin module that cannot be imported: it needs a package nobody installed."""

import aigi_scd_missing_dependency  # noqa: F401


class Codec:
    pass
