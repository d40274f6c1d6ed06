"""Request and response bodies, declared once, one module per feature.

The same pydantic models validate requests (through flask-openapi3) and generate the
OpenAPI document served at ``/api/v1/openapi.json``. Views use ``schemas.<Name>``.
"""

from chatapp.schemas.accounts import *  # noqa: F403
from chatapp.schemas.branches import *  # noqa: F403
from chatapp.schemas.chat import *  # noqa: F403
from chatapp.schemas.common import *  # noqa: F403
from chatapp.schemas.files import *  # noqa: F403
from chatapp.schemas.insights import *  # noqa: F403
from chatapp.schemas.knowledge import *  # noqa: F403
from chatapp.schemas.legacy import *  # noqa: F403
from chatapp.schemas.personalities import *  # noqa: F403
from chatapp.schemas.prompts import *  # noqa: F403
from chatapp.schemas.retrieval import *  # noqa: F403
from chatapp.schemas.search import *  # noqa: F403
from chatapp.schemas.seeds import *  # noqa: F403
from chatapp.schemas.transfer import *  # noqa: F403
