from . import microsoft_contacts_account
from . import microsoft_contacts_directory
from . import microsoft_contacts_directory_group
from . import microsoft_contacts_directory_mapping
from . import microsoft_contacts_sync_run
from . import microsoft_contacts_sync_run_line
from . import res_config_settings
from . import res_partner
