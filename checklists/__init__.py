"""Policy documents → measures → checklist items: plain Python, no framework, no clock reads."""

from checklists.extract import Extraction, Measure, extract
from checklists.reading import DocumentError, read_document
from checklists.responsibility import ResponsibleUnit
from checklists.status import Colour, colour, days_overdue, measure_state
from checklists.targets import Target
from checklists.unitnames import display_name, name_key, short_key
from checklists.workdays import CalendarNotCovered, add_workdays, is_workday, workdays_between
from checklists.workflow import Action, Actor, ItemState, Payload, Status, allowed_actions, apply

__all__ = [
    "Action",
    "Actor",
    "CalendarNotCovered",
    "Colour",
    "DocumentError",
    "Extraction",
    "ItemState",
    "Measure",
    "Payload",
    "ResponsibleUnit",
    "Status",
    "Target",
    "add_workdays",
    "allowed_actions",
    "apply",
    "colour",
    "days_overdue",
    "display_name",
    "extract",
    "is_workday",
    "measure_state",
    "name_key",
    "read_document",
    "short_key",
    "workdays_between",
]
