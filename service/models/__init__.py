"""Database models; importing this package registers every table on SQLModel.metadata."""

from sqlmodel import SQLModel

# Named constraints, so that migrations (SQLite batch mode included) can refer to them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

from service.models.audit import AuditRecord  # noqa: E402
from service.models.documents import Document, Measure, Target  # noqa: E402
from service.models.events import Event  # noqa: E402
from service.models.items import Item  # noqa: E402
from service.models.reminders import Lease, Reminder  # noqa: E402
from service.models.settings import InstanceSetting  # noqa: E402
from service.models.tokens import ApiToken  # noqa: E402
from service.models.units import Unit, UnitAlias  # noqa: E402
from service.models.webhooks import Delivery, DeliveryAttempt, Subscription  # noqa: E402

__all__ = [
    "ApiToken",
    "AuditRecord",
    "Delivery",
    "DeliveryAttempt",
    "Document",
    "Event",
    "InstanceSetting",
    "Item",
    "Lease",
    "Measure",
    "Reminder",
    "Subscription",
    "Target",
    "Unit",
    "UnitAlias",
]
