import csv
import io

from odoo import http
from odoo.http import content_disposition, request

CSV_COLUMNS = ("Email", "Name", "Type", "Direction", "Status", "Reason")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """Text a spreadsheet shows as text: names from the directory may start with '='."""
    value = value or ""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


class MicrosoftContactsSyncRunController(http.Controller):
    @http.route("/microsoft_contacts/run/<int:run_id>/csv", type="http", auth="user")
    def microsoft_contacts_run_csv(self, run_id, **kwargs):
        """The run's lines as CSV; record rules decide who may read which run."""
        run = request.env["microsoft.contacts.sync.run"].browse(run_id).exists()
        if not run:
            raise request.not_found()
        run.check_access("read")
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        selection = {
            name: dict(run.line_ids._fields[name]._description_selection(request.env))
            for name in ("report_type", "direction", "status")
        }
        for line in run.line_ids:
            writer.writerow(
                (
                    _cell(line.email),
                    _cell(line.name),
                    selection["report_type"][line.report_type],
                    selection["direction"][line.direction],
                    selection["status"][line.status],
                    _cell(line.reason),
                )
            )
        filename = f"{run.display_name or 'sync-log'}.csv".replace("/", "-")
        return request.make_response(
            buffer.getvalue().encode("utf-8-sig"),
            headers=[
                ("Content-Type", "text/csv; charset=utf-8"),
                ("Content-Disposition", content_disposition(filename)),
            ],
        )
