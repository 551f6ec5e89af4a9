from odoo import models


class MicrosoftContactsDefaultFolderLink(models.Model):
    """A contact of the user's default Outlook Contacts folder and the partner it feeds.

    The same columns as a synced pair (the snapshot is the merge base), in a table of their
    own: the import runs one way, and a partner may be linked in both folders at once.
    """

    _name = "microsoft.contacts.default.folder.link"
    _inherit = "microsoft.contacts.link"
    _description = "Outlook Contacts Folder Link"
