"""Request body parsing with a size limit that DRF does not enforce on its own."""

import io

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from otp.exceptions import PayloadTooLarge


class LimitedJSONParser(JSONParser):
    """JSON bodies of at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes, else 413.

    DRF reads the body stream itself, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE check, so the
    limit is applied here to the bytes actually received, whatever Content-Length claims.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise PayloadTooLarge()
        try:
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            # "[[[[..." a thousand deep fits in the limit and exhausts the parser's stack.
            raise ParseError("JSON parse error - nested too deeply") from None
