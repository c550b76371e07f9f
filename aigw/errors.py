"""Every error aigw raises on purpose, with the exit code and the hint the CLI shows.

    AigwError (exit 1)
    ├── UsageError (exit 2)                 bad flag, bad input, unknown model: fix the command
    │   └── RetiredModelError               --no-substitute and the model is retired everywhere
    ├── ConfigError (exit 3)                bad config file, unknown setting
    │   └── MissingKeyError                 no key for the provider the request needs
    ├── ProviderError (exit 4)              one provider attempt failed; the router decides what next
    │   ├── RetryableError                  5xx, 408, 409, connection refused/reset, connect timeout
    │   │   ├── RateLimitedError            429 (carries retry_after seconds, or None)
    │   │   ├── TimedOutError               the attempt's whole-time bound passed; a paid request may be billed
    │   │   ├── MalformedReplyError         a 200 of the wrong shape, a redirect loop, a body over its cap
    │   │   └── JobGoneError                a recorded queue job that cannot be resumed: gone, expired, cancelled
    │   ├── EmptyResultError                200 with no image / no transcript
    │   │   └── RepetitionLoopError         a transcript stuck repeating itself (a decoding loop)
    │   ├── ModelUnavailableError           404 model_not_found: this provider does not serve it
    │   ├── AuthError                       401, 403: the key is wrong or lacks access
    │   ├── QuotaExceededError              402, insufficient_quota: out of credit, never retried
    │   ├── BadRequestError (exit 2)        400/404/413/422: the request itself is wrong
    │   └── ContentRefusedError (exit 5)    content policy / safety system refusal
    ├── NoProviderSucceeded (exit 4)        every candidate was tried and failed
    ├── BudgetExceededError (exit 6)        --max-cost or a daily/monthly budget would be exceeded
    ├── OutputNotWritten (exit 7)           paid result kept in the cache; -o could not be written
    ├── BatchItemsFailed (exit 8)           a batch ended with one or more items failed
    ├── ResultRescued (exit 9)              the cache could not take a paid result; kept elsewhere
    ├── ResultLost (exit 10)                a paid result could not be written anywhere
    ├── RunLogError (exit 1)                aigw.db stayed locked, or its disk is full
    │   └── RunLogUnusable (exit 3)         aigw.db is corrupt, read-only or cannot be opened
    └── Interrupted (exit 130)              Ctrl-C
        ├── Terminated (exit 143)           SIGTERM
        └── HungUp (exit 129)               SIGHUP (the terminal closed)

The router looks only at the class of a ProviderError; the CLI looks only at exit_code and hint.
"""

from __future__ import annotations

from typing import ClassVar


class AigwError(Exception):
    exit_code: ClassVar[int] = 1
    default_hint: ClassVar[str | None] = None
    run_id: str | None = None  # set when a run was started: its id in the run log
    attempts: tuple[object, ...] = ()  # set when a run failed: every attempt, for --json

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        from aigw.redact import redact  # every error is born without the secrets aigw sent

        message = redact(message)
        super().__init__(message)
        self.message = message
        hint = hint if hint is not None else self.default_hint
        self.hint = redact(hint) if hint is not None else None


class UsageError(AigwError):
    exit_code = 2


class RetiredModelError(UsageError):
    pass


class ConfigError(AigwError):
    exit_code = 3


class MissingKeyError(ConfigError):
    pass


class ProviderError(AigwError):
    """One attempt at one provider failed. `status` is the HTTP status when there was one."""

    exit_code = 4
    failure_class: ClassVar[str] = "error"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        provider: str | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.provider = provider
        self.status = status
        self.code = code
        # What the provider charges for an answer it gave that cannot be used (a transcript stuck in
        # a loop): the failed attempt's actual cost, counted by the run's cost and the budgets.
        self.billed_usd: float | None = None


class RetryableError(ProviderError):
    failure_class = "retryable"


class RateLimitedError(RetryableError):
    failure_class = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class TimedOutError(RetryableError):
    """No complete reply within the attempt's bound (connect, headers, body, download). The provider
    may have done, and billed, the work: the router never sends the same request there again."""

    failure_class = "timeout"


class MalformedReplyError(RetryableError):
    """The provider answered, but not with anything aigw can read (DESIGN: retryable, logged as such)."""


class JobGoneError(RetryableError):
    """A queue job recorded earlier is no longer there to poll (its provider dropped it, it expired or
    was cancelled): nothing of it can be fetched, so the caller may submit the request again. Logged
    as any retryable failure; `code` says which ("job_gone", "job_expired", "job_cancelled")."""


class EmptyResultError(ProviderError):
    failure_class = "empty_result"


class RepetitionLoopError(EmptyResultError):
    """The provider answered with a transcript stuck in a loop (aigw/audio/guards.py): as useless as
    an empty one, so the router moves on to the next candidate the same way."""

    failure_class = "repetition_loop"


class ModelUnavailableError(ProviderError):
    failure_class = "model_unavailable"


class AuthError(ProviderError):
    failure_class = "auth"


class QuotaExceededError(ProviderError):
    failure_class = "quota"


class BadRequestError(ProviderError):
    exit_code = 2
    failure_class = "bad_request"


class ContentRefusedError(ProviderError):
    exit_code = 5
    failure_class = "content_refused"
    default_hint = "Rephrase the prompt; or pass --fallback-on-refusal to try other providers."


class NoProviderSucceeded(AigwError):
    exit_code = 4

    def __init__(self, message: str, *, hint: str | None = None, last: ProviderError | None = None):
        super().__init__(message, hint=hint)
        self.last = last


class BudgetExceededError(AigwError):
    exit_code = 6


class OutputNotWritten(AigwError):
    exit_code = 7


class BatchItemsFailed(AigwError):
    exit_code = 8


class ResultRescued(AigwError):
    exit_code = 9


class ResultLost(AigwError):
    exit_code = 10


class RunLogError(AigwError):
    exit_code = 1


class RunLogUnusable(RunLogError):
    exit_code = 3


class Interrupted(AigwError):
    exit_code = 130


class Terminated(Interrupted):
    exit_code = 143


class HungUp(Interrupted):
    exit_code = 129
