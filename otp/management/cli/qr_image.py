"""The otpauth URI in a screenshot of a QR code: decoded from the image file, never kept."""

import warnings

import zxingcpp
from django.core.management.base import CommandError
from PIL import Image

from otp.management.cli import files

# What screenshots are saved as. Naming them keeps Pillow's other, rarer decoders (and their
# bugs) away from whatever file is given.
IMAGE_FORMATS = ("PNG", "JPEG")
# An 8K screen is 33 million pixels; an image claiming more is no screenshot but, likely, a
# few bytes that would decompress into gigabytes.
MAX_PIXELS = 40_000_000
# zxing-cpp takes no wider or taller image (it raises ValueError); no screen is either.
MAX_SIDE = 65_535


def otpauth_uri_in(path: str) -> str:
    """The text of the one QR code in the image at `path`, an otpauth: URI; else CommandError.
    The text is the bytes the code holds, read as UTF-8: to be checked as standard input's is.
    No message quotes what the code holds."""
    text = _qr_text(path).strip()
    if text[:8].lower() == "otpauth:":
        return text
    if text[:18].lower() == "otpauth-migration:":
        raise CommandError(
            f"the QR code in {path} is a Google Authenticator export, not an otpauth://totp/ URI; "
            "decode it to text and use account import --google-authenticator"
        )
    raise CommandError(f"the QR code in {path} holds no otpauth://totp/ URI")


def _qr_text(path: str) -> str:
    with files.open_regular(path) as file, _image(file, path) as image:
        try:
            pixels = _grey(image)
        except (OSError, SyntaxError, ValueError):
            # Pillow reads lazily: a truncated or corrupt file only fails here.
            raise CommandError(_damaged(path)) from None
    try:
        codes = zxingcpp.read_barcodes(pixels, formats=zxingcpp.BarcodeFormat.QRCode)
    except ValueError:
        # zxing-cpp's refusal of an image it cannot take; its words would not help.
        raise CommandError(f"{path} cannot be searched for a QR code") from None
    if not codes:
        raise CommandError(
            f"no QR code found in {path}; crop the screenshot closer to the code, or take a "
            "sharper one"
        )
    if len(codes) > 1:
        raise CommandError(f"{path} shows {len(codes)} QR codes; crop it to the one to add")
    code = codes[0]
    part = _sequence_part(code)
    if part:
        index, count = part
        raise CommandError(
            f"{path} shows part {index} of a QR code split over {count} symbols; "
            "an otpauth://totp/ URI is one QR code: show the site's QR code whole"
        )
    try:
        # The bytes the code holds: .text spells control characters out (<NUL>) and may read
        # bytes as Latin-1, which would let them past the checks standard input gets.
        return code.bytes.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise CommandError(f"the QR code in {path} does not hold UTF-8 text") from None


def _grey(image: Image.Image) -> Image.Image:
    """Grey levels, all a QR code needs, whatever the screenshot's colour mode. A transparent
    background is shown over white, as a viewer shows it: converted alone it would be black."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("L")
    return image.convert("L")


# Structured append (ISO/IEC 18004, 7.4.2): a code split over up to 16 symbols, each of which
# starts its data with mode indicator 0011, its index (4 bits), the count less 1 (4 bits) and a
# parity byte. zxing-cpp's Python binding does not say so: the symbol's modules are read here.
_STRUCTURED_APPEND = 0b0011
# Error correction blocks of QR code versions 1 to 40, at levels L, M, Q and H (Table 9).
_BLOCKS = {
    "L": (1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8,
          8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25),
    "M": (1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
          17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49),
    "Q": (1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20,
          23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68),
    "H": (1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25,
          25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81),
}  # fmt: skip
_MASKS = (
    lambda i, j: (i + j) % 2 == 0,
    lambda i, j: i % 2 == 0,
    lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0,
    lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i + j) % 2 + (i * j) % 3) % 2 == 0,
)


def _sequence_part(code) -> tuple[int, int] | None:
    """(index from 1, count) if `code` is one symbol of a structured append sequence."""
    extra = code.extra
    try:
        version, mask = int(extra["Version"]), int(extra["DataMask"])
        blocks = _BLOCKS[extra["ECLevel"]][version - 1]
        symbol = memoryview(code.to_image(add_quiet_zones=False))
    except (KeyError, ValueError, TypeError, IndexError):
        return None  # not a QR code model 2 symbol: no such header to read
    size = 4 * version + 17
    if version < 1 or symbol.shape != (size, size) or not 0 <= mask < len(_MASKS):
        return None
    # The first codewords fill the two rightmost column pairs, up then down, below the top
    # right finder pattern: enough for the codewords read here, the first of each block (the
    # first of the first block at 0) and the second of the first block (at `blocks`).
    places = [(row, col) for row in range(size - 1, 8, -1) for col in (size - 1, size - 2)]
    places += [(row, col) for row in range(9, size) for col in (size - 3, size - 4)]

    def codeword(position: int) -> int:
        value = 0
        for row, col in places[position * 8 : position * 8 + 8]:
            dark = symbol[row, col] == 0
            value = value << 1 | (dark != _MASKS[mask](row, col))
        return value

    first = codeword(0)
    if first >> 4 != _STRUCTURED_APPEND:
        return None
    index, count = first & 0xF, (codeword(blocks) >> 4) + 1
    return (index + 1, count) if index < count else None


def _image(file, path: str) -> Image.Image:
    """The image in `file` (opened from `path`), read lazily: `file` stays open while it is."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns of an image a little over its own limit: refuse it instead.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(file, formats=IMAGE_FORMATS)
    except Image.UnidentifiedImageError:
        raise CommandError(f"{path} is not a PNG or JPEG image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise CommandError(_too_large(path)) from None
    except OSError as error:
        raise CommandError(files.unreadable(path, error)) from None
    except SyntaxError:
        # Pillow's PNG reader says "broken PNG file" this way.
        raise CommandError(_damaged(path)) from None
    if image.width > MAX_SIDE or image.height > MAX_SIDE:
        image.close()
        raise CommandError(
            f"{path} is {image.width:,} x {image.height:,} pixels: no side of a screenshot of a "
            f"QR code is over {MAX_SIDE:,}"
        )
    if image.width * image.height > MAX_PIXELS:
        image.close()
        raise CommandError(_too_large(path))
    return image


def _too_large(path: str) -> str:
    return f"{path} has over {MAX_PIXELS:,} pixels: too many for a screenshot of a QR code"


def _damaged(path: str) -> str:
    return f"{path} is a damaged or truncated image"
