{
    "name": "Outlook Contacts Sync",
    "summary": "Two-way sync of Odoo contacts with Outlook, and Entra ID users as contacts",
    "version": "18.0.1.0.0",
    "category": "Sales/CRM",
    "author": "Outlook Contacts Sync for Odoo",
    "license": "LGPL-3",
    "application": True,
    "installable": True,
    "depends": ["contacts", "microsoft_account"],
    "external_dependencies": {
        "python": ["msal", "requests", "phonenumbers"],
    },
    "data": [
        "security/ir.model.access.csv",
        "security/microsoft_contacts_security.xml",
        "data/microsoft_contacts_data.xml",
        "data/microsoft_contacts_notifications_data.xml",
        "views/microsoft_contacts_account_views.xml",
        "views/microsoft_contacts_sync_run_views.xml",
        "views/microsoft_contacts_directory_views.xml",
        "views/menus.xml",
        "views/res_partner_views.xml",
        "views/res_users_views.xml",
        "views/res_partner_contacts_views.xml",
        "views/res_config_settings_views.xml",
        "views/microsoft_contacts_notifications_views.xml",
        "views/templates.xml",
        "wizard/microsoft_contacts_sync_preview_views.xml",
    ],
    "uninstall_hook": "uninstall_hook",
    "assets": {
        "web.assets_backend": [
            "microsoft_contacts/static/src/**/*",
        ],
        "web.assets_unit_tests": [
            "microsoft_contacts/static/tests/**/*.test.js",
        ],
        "web.assets_tests": [
            "microsoft_contacts/static/tests/tours/**/*",
        ],
    },
}
