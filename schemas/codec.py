"""orjson encoding and decoding of the models: one place that turns models into bytes and back."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def dumps(model: BaseModel) -> bytes:
    """Compact JSON with sorted keys, so equal models give equal bytes."""
    return orjson.dumps(model.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)


def loads(model: type[M], data: bytes | str) -> M:
    """Strict decoding: wrong types are errors (pydantic's JSON mode keeps RFC 3339 strings)."""
    return model.model_validate_json(data, strict=True)


def dumps_obj(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
