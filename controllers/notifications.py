"""The public address Microsoft Graph posts change notifications to (R12).

- `?validationToken=...`: Graph's handshake before a subscription exists: the token goes back
  as text/plain with 200, without touching the database.
- A payload: each entry's clientState is compared, in constant time, with the one stored for
  its subscription; the route answers 202 as soon as the matching accounts are marked, and a
  sync worker does the rest (a delta run after the debounce delay). Nothing else in the
  payload is trusted or used. Unknown or stale subscriptions and wrong clientStates are
  refused (403) with a log line and nothing written; more than the rate limit per
  subscription is answered 429 with Retry-After, before the database is asked anything.
"""

import json
import logging
import math

from odoo import SUPERUSER_ID, http
from odoo.http import request

from ..graph.subscriptions import (
    LIFECYCLE_PATH,
    NOTIFICATION_PATH,
    RateLimiter,
    parse_notifications,
    validation_token,
)

_logger = logging.getLogger(__name__)

# Graph posts small payloads; anything far larger is not from Graph (werkzeug stops reading
# a body past it, chunked or not).
MAX_BODY_BYTES = 1024 * 1024
# Distinct subscriptions one payload may name: Graph groups the changes of a few; a payload
# naming more is not from Graph, and is refused before the database is asked anything.
MAX_SUBSCRIPTIONS_PER_PAYLOAD = 100
# Per subscription and per Odoo process (each prefork worker has its own): a burst of 20
# payloads, then one a second. Graph batches changes, and every accepted one already queues
# a full delta run, so this is far above what an honest mailbox needs.
LIMITER = RateLimiter(capacity=20, per_second=1.0, max_keys=4096)


def _answer(status, body="", headers=()):
    return request.make_response(
        body,
        headers=[
            ("Content-Type", "text/plain; charset=utf-8"),
            ("X-Content-Type-Options", "nosniff"),
            ("Cache-Control", "no-store"),
            *headers,
        ],
        status=status,
    )


class MicrosoftContactsNotifications(http.Controller):
    @http.route(
        [NOTIFICATION_PATH, LIFECYCLE_PATH],
        type="http",
        auth="none",
        methods=["POST"],
        csrf=False,
        save_session=False,
        readonly=False,
        max_content_length=MAX_BODY_BYTES,
    )
    def microsoft_contacts_notification(self, **_kwargs):
        httprequest = request.httprequest
        try:
            token = validation_token(httprequest.args)
        except ValueError:
            return _answer(400, "Bad validation token")
        if token is not None:
            return _answer(200, token)
        if (httprequest.content_length or 0) > MAX_BODY_BYTES:
            return _answer(413, "Payload too large")
        try:
            body = json.loads(httprequest.get_data()[: MAX_BODY_BYTES + 1] or b"null")
            notifications, skipped = parse_notifications(body)
        except (ValueError, UnicodeDecodeError):
            _logger.warning("Outlook change notification refused: not a notification payload")
            return _answer(400, "Not a notification payload")
        if skipped:
            _logger.info("Outlook change notification: %s malformed entries skipped", skipped)
        named = {n.subscription_id for n in notifications}
        if len(named) > MAX_SUBSCRIPTIONS_PER_PAYLOAD:
            _logger.warning(
                "Outlook change notification refused: %s subscriptions in one payload", len(named)
            )
            return _answer(413, "Too many subscriptions")
        # One token per subscription and payload, however many of its changes Graph grouped.
        passed, waits = set(), []
        for subscription_id in named:
            ok, wait = LIMITER.allow(subscription_id)
            if ok:
                passed.add(subscription_id)
            else:
                waits.append(wait)
        allowed = [n for n in notifications if n.subscription_id in passed]
        if not allowed:
            if waits:
                _logger.info("Outlook change notifications over the rate limit: answered 429")
                retry = str(max(1, math.ceil(max(waits))))
                return _answer(429, "Too many notifications", [("Retry-After", retry)])
            return _answer(403, "Refused")
        env = request.env(user=SUPERUSER_ID, su=True)
        accepted = env["microsoft.contacts.subscription"]._receive_notifications(allowed)
        return _answer(202 if accepted else 403, "" if accepted else "Refused")
