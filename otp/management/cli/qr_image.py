"""The otpauth URI in a screenshot of a QR code: decoded from the image file, never kept."""

import os
import stat
import warnings

import zxingcpp
from django.core.management.base import CommandError
from PIL import Image

# What screenshots are saved as. Naming them keeps Pillow's other, rarer decoders (and their
# bugs) away from whatever file is given.
IMAGE_FORMATS = ("PNG", "JPEG")
# An 8K screen is 33 million pixels; an image claiming more is no screenshot but, likely, a
# few bytes that would decompress into gigabytes.
MAX_PIXELS = 40_000_000


def otpauth_uri_in(path: str) -> str:
    """The text of the one QR code in the image at `path`, an otpauth: URI; else CommandError.
    No message quotes what the code holds."""
    text = _qr_text(path)
    if text[:8].lower() == "otpauth:":
        return text
    if text[:18].lower() == "otpauth-migration:":
        raise CommandError(
            f"the QR code in {path} is a Google Authenticator export, not an otpauth://totp/ URI; "
            "decode it to text and use account import --google-authenticator"
        )
    raise CommandError(f"the QR code in {path} holds no otpauth://totp/ URI")


def _qr_text(path: str) -> str:
    with _image(path) as image:
        try:
            # Grey levels are all a QR code needs, whatever the screenshot's colour mode.
            pixels = image.convert("L")
        except (OSError, SyntaxError, ValueError):
            # Pillow reads lazily: a truncated or corrupt file only fails here.
            raise CommandError(_damaged(path)) from None
    codes = zxingcpp.read_barcodes(pixels, formats=zxingcpp.BarcodeFormat.QRCode)
    if not codes:
        raise CommandError(
            f"no QR code found in {path}; crop the screenshot closer to the code, or take a "
            "sharper one"
        )
    if len(codes) > 1:
        raise CommandError(f"{path} shows {len(codes)} QR codes; crop it to the one to add")
    return codes[0].text


def _image(path: str) -> Image.Image:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            # A FIFO or device would block the read or never end it.
            raise CommandError(f"{path} is not a file")
        with warnings.catch_warnings():
            # Pillow only warns of an image a little over its own limit: refuse it instead.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path, formats=IMAGE_FORMATS)
    except Image.UnidentifiedImageError:
        raise CommandError(f"{path} is not a PNG or JPEG image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise CommandError(_too_large(path)) from None
    except OSError as unreadable:
        raise CommandError(
            f"cannot read {path}: {unreadable.strerror or type(unreadable).__name__}"
        ) from None
    except SyntaxError:
        # Pillow's PNG reader says "broken PNG file" this way.
        raise CommandError(_damaged(path)) from None
    if image.width * image.height > MAX_PIXELS:
        image.close()
        raise CommandError(_too_large(path))
    return image


def _too_large(path: str) -> str:
    return f"{path} has over {MAX_PIXELS:,} pixels: too many for a screenshot of a QR code"


def _damaged(path: str) -> str:
    return f"{path} is a damaged or truncated image"
