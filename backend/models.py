"""Every table, imported in one place so Alembic and the tests see the whole schema."""
from backend.accounts import models as _accounts  # noqa: F401
from backend.billing import models as _billing  # noqa: F401
from backend.compliance import models as _compliance  # noqa: F401
from backend.db import Base
from backend.documents import models as _documents  # noqa: F401
from backend.enrollment import models as _enrollment  # noqa: F401
from backend.audit import AuditEvent  # noqa: F401
from backend.jobs import JobRow  # noqa: F401
from backend.outbox import OutboxMessage  # noqa: F401
from backend.oversight import models as _oversight  # noqa: F401
from backend.identity import models as _identity  # noqa: F401
from backend.payroll import models as _payroll  # noqa: F401
from backend.plans import models as _plans  # noqa: F401
from backend.web.models import IdempotencyRecord  # noqa: F401
from notifications import models as _notifications  # noqa: F401

metadata = Base.metadata
