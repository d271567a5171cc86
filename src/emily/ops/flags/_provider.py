"""``FileFlagProvider``: an OpenFeature provider backed by the ``FlagStore``.

Why OpenFeature: call sites ask ``client.get_boolean_value("enable_gflownet_v2", False, ctx)``
and never learn where flags live; a hosted flag service later is a provider swap, not a code
change. The targeting key of the evaluation context is the stable key of percentage rollouts.
While the file on disk is malformed, answers come from the last good flags with reason STALE.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider import AbstractProvider, Metadata

from emily.ops.flags._schema import GFLOWNET_V2_FLAG, FlagValue, evaluate
from emily.ops.flags._store import FlagStore

if TYPE_CHECKING:
    from openfeature.client import OpenFeatureClient
    from openfeature.flag_evaluation import FlagValueType

T = TypeVar("T")
PROVIDER_NAME = "emily-file-flags"
DOMAIN = "emily"


def _is_type(value: FlagValue, expected: type) -> bool:
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


class FileFlagProvider(AbstractProvider):
    """Resolve flags from ``EMILY_HOME/flags.yaml`` (via a ``FlagStore``)."""

    def __init__(self, store: FlagStore) -> None:
        super().__init__()
        self.store = store

    def get_metadata(self) -> Metadata:
        return Metadata(name=PROVIDER_NAME)

    def _resolve(
        self, flag_key: str, default: T, context: EvaluationContext | None, expected: type
    ) -> FlagResolutionDetails[T]:
        spec = self.store.flags().flags.get(flag_key)
        if spec is None:
            return FlagResolutionDetails(
                value=default,
                reason=Reason.ERROR,
                error_code=ErrorCode.FLAG_NOT_FOUND,
                error_message=f"flag {flag_key!r} is not defined in {self.store.path}",
            )
        key = context.targeting_key if context is not None else None
        attributes = context.attributes if context is not None else {}
        result = evaluate(flag_key, spec, key, attributes)
        if result.value is None:
            return FlagResolutionDetails(value=default, reason=Reason.DISABLED)
        if not _is_type(result.value, expected):
            return FlagResolutionDetails(
                value=default,
                reason=Reason.ERROR,
                error_code=ErrorCode.TYPE_MISMATCH,
                error_message=f"flag {flag_key!r} variant {result.variant!r} is "
                f"{type(result.value).__name__}, not {expected.__name__}",
            )
        value = float(result.value) if expected is float else result.value
        stale = self.store.last_error is not None
        return FlagResolutionDetails(
            value=value,  # type: ignore[arg-type]  # checked by _is_type above
            reason=Reason.STALE if stale else Reason(result.reason),
            variant=result.variant,
            flag_metadata={"stale_error": self.store.last_error or ""} if stale else {},
        )

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        return self._resolve(flag_key, default_value, evaluation_context, bool)

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return self._resolve(flag_key, default_value, evaluation_context, str)

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        return self._resolve(flag_key, default_value, evaluation_context, int)

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        return self._resolve(flag_key, default_value, evaluation_context, float)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        """Flags here are scalars, so an object lookup is always a type mismatch."""
        return FlagResolutionDetails(
            value=default_value,
            reason=Reason.ERROR,
            error_code=ErrorCode.TYPE_MISMATCH,
            error_message="emily flags hold scalar values (bool, int, float, str), not objects",
        )


def install_flags(store: FlagStore, *, domain: str = DOMAIN) -> OpenFeatureClient:
    """Register a ``FileFlagProvider`` for ``domain`` and return an OpenFeature client for it."""
    api.set_provider(FileFlagProvider(store), domain=domain)
    return api.get_client(domain=domain)


def select_gflownet(
    client: OpenFeatureClient,
    *,
    v1: Callable[[], T],
    v2: Callable[[], T],
    targeting_key: str | None = None,
) -> T:
    """Build the V2 GFlowNet if ``enable_gflownet_v2`` is on for this key, else V1 (the seed's
    progressive-delivery switch, made stable per key and safe when flags are missing)."""
    context = EvaluationContext(targeting_key=targeting_key) if targeting_key else None
    use_v2 = client.get_boolean_value(GFLOWNET_V2_FLAG, False, context)
    return v2() if use_v2 else v1()
