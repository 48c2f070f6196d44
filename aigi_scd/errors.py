"""Errors a user can act on. The CLI prints their message on one line and exits non-zero, no traceback."""


class AigiScdError(Exception):
    """Base class: the message names the problem and how to fix it."""


class ConfigError(AigiScdError):
    """A registry file (card, suite, preset) or an option value is malformed."""


class ModelUnavailableError(AigiScdError):
    """A model's weights cannot be loaded here (no network, not cached, gated, wrong path)."""


class OutputDirError(AigiScdError):
    """The output folder holds something we must not overwrite."""


class DeviceError(AigiScdError):
    """The device cannot run a model as asked: a precision it lacks, or not enough memory."""


class DamagedDataError(AigiScdError):
    """Files in an output folder do not hold what their stats files or manifest say (truncated, altered,
    missing). ``problem`` names the file and what is wrong; the message adds how to repair it."""

    def __init__(self, problem: str, fix: str = ""):
        self.problem = problem
        super().__init__(f"{problem}; {fix}" if fix else problem)
