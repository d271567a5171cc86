"""``emily serve``'s HTTP API: stimuli in, state and metrics out, alert-driven remediation."""

from emily.runtime.api.app import ApiOptions, create_app, default_readiness
from emily.runtime.api.auth import BearerAuth, ensure_token, token_path
from emily.runtime.api.limits import MAX_BODY_BYTES, BodySizeLimit
from emily.runtime.api.models import MAX_BATCH
from emily.runtime.api.remediation import Remediator, log_path, read_log

__all__ = [
    "MAX_BATCH",
    "MAX_BODY_BYTES",
    "ApiOptions",
    "BearerAuth",
    "BodySizeLimit",
    "Remediator",
    "create_app",
    "default_readiness",
    "ensure_token",
    "log_path",
    "read_log",
    "token_path",
]
