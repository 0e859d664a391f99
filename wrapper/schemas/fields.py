"""Field types several dialects share.

A model name reaches the CLI as a command-line argument, where a NUL byte cannot
travel and other control characters have no business; its length is bounded
well below any argument limit. A name that breaks these rules is a 400 naming
``model``, in the dialect's shape, before anything is spawned.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

MAX_MODEL_NAME = 256

ModelName = Annotated[str, msgspec.Meta(max_length=MAX_MODEL_NAME, pattern=r"^[^\x00-\x1f\x7f]*$")]
