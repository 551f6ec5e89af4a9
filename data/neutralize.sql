-- A neutralized copy (staging, restore) must never reach the production mailboxes.
UPDATE microsoft_contacts_account
   SET token_cache = NULL,
       home_account_id = NULL,
       state = 'not_connected';
DELETE FROM ir_config_parameter
 WHERE key IN ('microsoft_contacts_client_secret');
UPDATE microsoft_contacts_directory
   SET client_secret = NULL,
       delta_link = NULL,
       active = FALSE;
