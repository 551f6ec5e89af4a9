from datetime import timedelta

from odoo import api, fields, models

from ..sync.schedule import next_daily_at

SCHEDULE_SELECTION = [
    ("half_hourly", "Every 30 minutes"),
    ("hourly", "Every hour"),
    ("every_hours", "Every X hours"),
    ("daily", "Every day at a set time"),
]
DEFAULT_SCHEDULE = "half_hourly"
DEFAULT_EVERY_HOURS = 2
SYNC_CRON = "microsoft_contacts.ir_cron_microsoft_contacts_sync"
# Accounts synced at the same time, one cron job each (Odoo runs one job on one thread).
DEFAULT_SYNC_WORKERS = 2
MAX_SYNC_WORKERS = 16
# (interval_number, interval_type) of ir.cron per schedule; "every_hours" takes its hours.
CRON_INTERVALS = {
    "half_hourly": (30, "minutes"),
    "hourly": (1, "hours"),
    "daily": (1, "days"),
}


class MicrosoftContactsAccountSchedule(models.Model):
    """When the background sync runs: Settings choose, the cron and the due threshold follow."""

    _inherit = "microsoft.contacts.account"

    @api.model
    def _get_sync_schedule(self):
        """(kind, every X hours, daily time as a float) from Settings; defaults for bad values."""
        get_param = self.env["ir.config_parameter"].sudo().get_param
        kind = get_param("microsoft_contacts.sync_schedule") or DEFAULT_SCHEDULE
        if kind not in dict(SCHEDULE_SELECTION):
            kind = DEFAULT_SCHEDULE
        try:
            every_hours = int(get_param("microsoft_contacts.sync_every_hours") or 0)
        except ValueError:
            every_hours = 0
        try:
            daily_at = float(get_param("microsoft_contacts.sync_daily_at") or 0.0)
        except ValueError:
            daily_at = 0.0
        return (
            kind,
            every_hours if every_hours >= 1 else DEFAULT_EVERY_HOURS,
            daily_at if 0 <= daily_at < 24 else 0.0,
        )

    @api.model
    def _get_sync_cron_interval(self, schedule=None):
        """(interval_number, interval_type) of the sync cron for a schedule."""
        kind, every_hours, _daily_at = schedule or self._get_sync_schedule()
        if kind == "every_hours":
            return every_hours, "hours"
        return CRON_INTERVALS[kind]

    @api.model
    def _get_sync_interval(self):
        """How long after its last sync the cron syncs an account again.

        Two thirds of the period: an account that a long cron call reached late is still due
        at the next call (every 30 minutes: 20 minutes; daily: 16 hours).
        """
        number, interval_type = self._get_sync_cron_interval()
        return timedelta(**{interval_type: number}) * 2 / 3

    @api.model
    def _get_sync_workers(self):
        """How many accounts sync at the same time (Settings), within 1 and MAX_SYNC_WORKERS."""
        value = self.env["ir.config_parameter"].sudo().get_param("microsoft_contacts.sync_workers")
        try:
            workers = int(value or DEFAULT_SYNC_WORKERS)
        except ValueError:
            workers = DEFAULT_SYNC_WORKERS
        return min(max(workers, 1), MAX_SYNC_WORKERS)

    @api.model
    def _get_sync_crons(self):
        """The sync cron and its copies, one per parallel worker (the first is the original)."""
        cron = self.env.ref(SYNC_CRON, raise_if_not_found=False)
        if not cron:
            return self.env["ir.cron"]
        cron = cron.sudo()
        copies = (
            self.env["ir.cron"]
            .sudo()
            .with_context(active_test=False)
            .search(
                [
                    ("model_id", "=", cron.model_id.id),
                    ("code", "=", cron.code),
                    ("id", "!=", cron.id),
                ],
                order="id",
            )
        )
        return cron | copies

    @api.model
    def _apply_sync_workers(self):
        """As many sync crons as Settings ask for workers, all on the original's schedule."""
        crons = self._get_sync_crons()
        if not crons:
            return
        wanted = self._get_sync_workers()
        main = crons[0]
        crons[wanted:].unlink()
        for number in range(len(crons) + 1, wanted + 1):
            main.copy(
                {
                    "name": self.env._(
                        "%(name)s (worker %(number)s)", name=main.name, number=number
                    ),
                    "nextcall": main.nextcall,
                    "active": main.active,
                }
            )

    @api.model
    def _apply_sync_schedule(self, changed=True):
        """Make the sync crons follow Settings; their next call moves only for a new schedule."""
        self._apply_sync_workers()
        crons = self._get_sync_crons()
        if not crons:
            return
        cron = crons[0]
        schedule = kind, _every_hours, daily_at = self._get_sync_schedule()
        number, interval_type = self._get_sync_cron_interval(schedule)
        if not changed and (cron.interval_number, cron.interval_type) == (number, interval_type):
            return
        now = fields.Datetime.now()
        if kind == "daily":
            # At the chosen time of the company's timezone (else the administrator's).
            tz = self.env.company.partner_id.tz or self.env.user.tz
            nextcall = next_daily_at(now, daily_at, tz)
        else:
            # Sooner when the period got shorter; never later than the call already planned.
            nextcall = min(cron.nextcall, now + timedelta(**{interval_type: number}))
        crons.write(
            {"interval_number": number, "interval_type": interval_type, "nextcall": nextcall}
        )
