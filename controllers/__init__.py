from . import main
from . import sync_run
from . import notifications
