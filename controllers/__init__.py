from . import main
from . import sync_run
from . import directory_consent
from . import notifications
