"""The request class: JSON bodies that cannot be decoded are a 400 naming the problem, never a 500.

Litestar's ``Request.json()`` lets a ``RecursionError`` (deeply nested JSON) or a ``UnicodeDecodeError``
(invalid UTF-8) escape, and turns an empty body into ``null``, which surfaces as the cryptic
``data: 'data'``. Every JSON body of this API is read through here.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import ClientException, SerializationException

EMPTY_BODY = 'the request body is empty: send a JSON object (e.g. {"message": "hello"} for /v1/chat)'


class BodyRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        body = await self.body()
        if not body.strip():
            raise ClientException(EMPTY_BODY)
        try:
            return await super().json()
        except RecursionError:
            raise ClientException("the JSON body is nested too deeply") from None
        except UnicodeDecodeError:
            raise ClientException("the request body is not valid UTF-8") from None
        except SerializationException as exc:
            raise ClientException(f"the request body is not valid JSON: {exc}") from None
