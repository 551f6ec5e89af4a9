import logging

from . import controllers
from . import models
from . import wizard


def uninstall_hook(env):
    """Delete the Outlook change notification subscriptions at Microsoft, best effort: what
    is left runs out within days, and its notifications find no route any more."""
    try:
        env["microsoft.contacts.account"]._uninstall_subscriptions()
    except Exception:  # never block an uninstall
        logging.getLogger(__name__).exception("Outlook change notifications not deleted")
