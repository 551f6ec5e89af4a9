from . import microsoft_contacts_directory_secret
from . import microsoft_contacts_sync_preview_line
from . import microsoft_contacts_sync_preview
from . import base_partner_merge_automatic_wizard
