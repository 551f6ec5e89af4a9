from . import test_account_access
from . import test_bench_directory
from . import test_calendar_coexistence
from . import test_connect_flow
from . import test_directory_import
from . import test_install
from . import test_settings
from . import test_outlook_sync
