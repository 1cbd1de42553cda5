"""Signals other apps listen to (e.g. the obligation calendar: a submitted report fulfils an obligation).

Sent inside the service's transaction, after the report is saved: a receiver's write commits or rolls
back with it."""

from django.dispatch import Signal

# kwargs: report (ResultsReport), user
results_report_submitted = Signal()
results_report_approved = Signal()
results_report_returned = Signal()
