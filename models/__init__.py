from . import microsoft_contacts_account
from . import res_config_settings
