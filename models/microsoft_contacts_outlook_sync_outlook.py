"""Applying a plan to Outlook: the next Outlook action of many records in one $batch."""

from odoo import api, models

from ..graph import ContactWrite, PacingDeadlineError
from ..graph.contacts import CREATE, DELETE, UPDATE
from ..sync import planner as sp

WRITE_OF_KIND = {
    sp.CREATE_IN_OUTLOOK: CREATE,
    sp.RECREATE_IN_OUTLOOK: CREATE,
    sp.UPDATE_OUTLOOK: UPDATE,
    sp.DELETE_IN_OUTLOOK: DELETE,
}


class MicrosoftContactsOutlookSyncOutlook(models.AbstractModel):
    _inherit = "microsoft.contacts.outlook.sync"

    @api.model
    def _apply_outlook_actions(self, job, records):
        """Send each record's next action to Outlook; the links and lines of what landed are
        written in Odoo right after, in bulk."""
        if not job.target.writes_outlook:
            for record in records:
                self._fail(
                    job, record, record.actions[0], self.env._("this folder is never written")
                )
            return
        actions = [record.actions.popleft() for record in records]
        writes = [
            ContactWrite(
                WRITE_OF_KIND[action.kind],
                contact_id=record.outlook_id,
                body=action.payload,
                if_match=action.if_match,
            )
            for record, action in zip(records, actions, strict=True)
        ]
        try:
            results = job.folder.write_contacts(writes)
        except PacingDeadlineError as error:
            # What landed is linked now; the rest waits for the run after the pause.
            self._keep_outlook_writes(job, records, actions, error.write_results)
            raise
        self._keep_outlook_writes(job, records, actions, results)

    @api.model
    def _keep_outlook_writes(self, job, records, actions, results):
        """Links and lines of the writes Outlook carried out; a failed record stops there."""
        done = []
        for record, action, result in zip(records, actions, results, strict=True):
            if result is None:
                continue  # not sent: Graph asked to wait
            if not result.ok:
                self._fail(job, record, action, result.error)
                continue
            if action.kind in (sp.CREATE_IN_OUTLOOK, sp.RECREATE_IN_OUTLOOK) and result.contact_id:
                record.outlook_id = result.contact_id
            if result.change_key:
                record.change_key = result.change_key
            done.append((record, action))
        if not done:
            return
        try:
            with self.env.cr.savepoint():
                effects = self._odoo_writes(job, done)
        except Exception:
            effects = self._odoo_writes_one_by_one(job, done)
        for effect in effects:
            effect()
