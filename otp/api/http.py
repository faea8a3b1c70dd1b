"""HTTP bodies in and out: a size limit DRF does not enforce, one reading of any JSON body, and
JSON-only answers without parsing Accept."""

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser

from otp.exceptions import PayloadTooLarge


# Fixed messages: the parser's own (line, column, the character it choked on) quote the body.
class NotJson(ParseError):
    default_detail = "Request body is not valid JSON"


class DuplicateKey(ParseError):
    # {"otp": "111111", "otp": "222222"}: this parser would keep the last, another the first.
    default_detail = "Request body has a duplicate key"


class NestedTooDeeply(ParseError):
    default_detail = "Request body is nested too deeply"


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise DuplicateKey()
    return found


def _refuse_constant(name: str):
    # NaN and Infinity are not JSON (RFC 8259), though Python's parser takes them by default.
    raise ValueError(name)


class LimitedJSONParser(JSONParser):
    """JSON bodies of at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes, else 413; UTF-8, with or without
    a byte order mark (RFC 8259 section 8.1); no duplicate keys; else 400 with a fixed message.

    DRF reads the body stream itself, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE check, so the
    limit is applied here to the bytes actually received, whatever Content-Length claims.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise PayloadTooLarge()
        try:
            return json.loads(
                # UTF-8 whatever charset the Content-Type names: one reading of the bytes.
                body.decode("utf-8-sig"),
                object_pairs_hook=_refuse_duplicate_keys,
                parse_constant=_refuse_constant,
            )
        except ValueError:  # UnicodeDecodeError and JSONDecodeError included
            raise NotJson() from None
        except RecursionError:
            # "[[[[..." a thousand deep fits in the limit and exhausts the parser's stack.
            raise NestedTooDeeply() from None


class JsonOnlyNegotiation(DefaultContentNegotiation):
    """Always answer with the view's first renderer.

    Every endpoint speaks only JSON, so parsing the Accept header on each request (DRF's default)
    costs time and can only end in 406 for a client that asked for something else. Request bodies
    are still matched to a parser by Content-Type (415 otherwise).
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type
