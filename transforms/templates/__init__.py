"""Message templates of service-log events: masking (`masking`), mining with Drain over each
service's distinct masked messages in sorted order (`mining`), and the tables built from the
events and the mined mapping (`tables`); this module is its public API.

Why this shape: Drain is order-dependent, and logcast promises that the same files ingested in
any order or grouping (one backfill, or hourly runs) give the same tables. So templates are not
mined from lines as they arrive: each service's distinct masked messages (the vocabulary, kept
per hour in `log_messages_hourly`) are mined in sorted order, which depends only on the set of
messages, and a template's id is a hash of (service, template text). When new messages change
a service's templates, the hours whose events map to changed templates are rebuilt
(`flows.templates`). Mining the distinct masked messages, not the lines, keeps it cheap:
a million lines of a few hundred templates are a few thousand masked messages."""

from transforms.templates.masking import MASKING, mask_codes, mask_messages
from transforms.templates.mining import mine, mine_templates, template_id
from transforms.templates.tables import (
    EXAMPLES,
    Logged,
    log_messages_hourly,
    log_templates,
    log_templates_minutely,
)

__all__ = [
    "EXAMPLES",
    "Logged",
    "MASKING",
    "log_messages_hourly",
    "log_templates",
    "log_templates_minutely",
    "mask_codes",
    "mask_messages",
    "mine",
    "mine_templates",
    "template_id",
]
