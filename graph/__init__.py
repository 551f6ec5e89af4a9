"""Microsoft Graph access for the Outlook contacts sync; pure Python, no Odoo import."""

from .client import (
    BATCH_LIMIT,
    BatchOutcome,
    BatchRequest,
    DeltaResult,
    GraphClient,
    TokenProvider,
)
from .endpoints import (
    CLOUDS,
    DELEGATED_PERMISSIONS,
    Endpoints,
    app_scopes,
    delegated_scopes,
    resolve_endpoints,
    validate_base_url,
)
from .categories import MasterCategories
from .contacts import ContactFolder, ContactWrite, FolderChanges, WriteResult
from .errors import (
    AuthExpiredError,
    BadRequestError,
    ConflictError,
    FolderGoneError,
    ForbiddenError,
    GraphError,
    MalformedResponseError,
    NotFoundError,
    PacingDeadlineError,
    ServerError,
    SyncStateLostError,
    ThrottledError,
    TransportError,
    error_from_response,
)
from .pacer import Pacer, PacerRegistry, pacer_for
from .retry import backoff_delay, parse_retry_after

__all__ = [
    "BATCH_LIMIT",
    "CLOUDS",
    "DELEGATED_PERMISSIONS",
    "AuthExpiredError",
    "BadRequestError",
    "BatchOutcome",
    "BatchRequest",
    "ConflictError",
    "ContactFolder",
    "ContactWrite",
    "DeltaResult",
    "Endpoints",
    "FolderChanges",
    "FolderGoneError",
    "ForbiddenError",
    "GraphClient",
    "GraphError",
    "MalformedResponseError",
    "MasterCategories",
    "NotFoundError",
    "Pacer",
    "PacerRegistry",
    "PacingDeadlineError",
    "ServerError",
    "SyncStateLostError",
    "ThrottledError",
    "TokenProvider",
    "TransportError",
    "WriteResult",
    "app_scopes",
    "backoff_delay",
    "delegated_scopes",
    "error_from_response",
    "pacer_for",
    "parse_retry_after",
    "resolve_endpoints",
]
