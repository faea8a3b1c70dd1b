"""`manage.py otp account add NAME --qr FILE`: the account from a screenshot of its QR code."""

import io
import struct
import zlib

import pytest
import segno
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from otp import accounts
from otp.core import totp
from otp.models import Account, AuditRecord
from tests.support.commands import call_otp
from tests.support.google_export import entry, export_uri, payload
from tests.support.refusals import OTHER_SECRET, SECRET, assert_no_secret, refusal

URI = f"otpauth://totp/GitHub:bot@example.com?secret={SECRET}&issuer=GitHub"


def qr_png(tmp_path, text, name="qr.png"):
    """A screenshot-like PNG of one QR code holding `text`, with a quiet margin around it."""
    path = tmp_path / name
    segno.make(text, micro=False).save(path, kind="png", scale=6, border=8)
    return path


def qr_jpeg(tmp_path, text):
    path = tmp_path / "qr.jpg"
    with Image.open(qr_png(tmp_path, text)) as png:
        png.convert("RGB").save(path, "JPEG", quality=80)
    return path


def side_by_side(tmp_path, *texts):
    """One PNG showing a QR code for each of `texts`."""
    codes = [Image.open(qr_png(tmp_path, text, f"part{i}.png")) for i, text in enumerate(texts)]
    width = sum(code.width for code in codes)
    canvas = Image.new("L", (width, max(code.height for code in codes)), 255)
    for i, code in enumerate(codes):
        canvas.paste(code.convert("L"), (i * codes[0].width, 0))
    path = tmp_path / "two.png"
    canvas.save(path)
    return path


def header_only_png(tmp_path, width, height):
    """A PNG that claims `width` x `height` pixels and holds none: what a decompression bomb's
    header looks like, a few bytes long."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path = tmp_path / "huge.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


def add_qr(name, path, *options, stdin=""):
    return call_otp("account", "add", name, "--qr", str(path), *options, stdin=stdin)


def test_add_from_a_png_qr_code_stores_the_account_as_from_standard_input(tmp_path, frozen_clock):
    out, err = add_qr("github-bot", qr_png(tmp_path, URI))
    assert out == "added account github-bot (issuer GitHub, SHA1, 6 digits, every 30 s)\n"
    assert err == ""
    stored = accounts.get_account("github-bot")
    assert (stored.secret, stored.issuer, stored.label) == (SECRET, "GitHub", "bot@example.com")
    assert stored.params == totp.DEFAULT
    assert list(AuditRecord.objects.values_list("client", "action", "outcome", "account")) == [
        ("operator", "account.add", "ok", "github-bot")
    ]


def test_add_from_a_jpeg_qr_code_with_its_parameters(tmp_path, frozen_clock):
    uri = f"otpauth://totp/ACME:deploy?secret={OTHER_SECRET}&algorithm=SHA256&digits=8&period=60"
    out, _ = add_qr("deploy", qr_jpeg(tmp_path, uri), "--exclusive")
    assert out == "added account deploy (issuer ACME, SHA256, 8 digits, every 60 s), exclusive\n"
    stored = accounts.get_account("deploy")
    assert stored.secret == OTHER_SECRET
    assert stored.params == totp.Params("SHA256", 8, 60)
    assert stored.exclusive


def test_add_from_a_qr_code_reads_no_standard_input_and_leaves_the_image_alone(tmp_path):
    path = qr_png(tmp_path, URI)
    image = path.read_bytes()
    stdin = io.StringIO(OTHER_SECRET)
    call_command(
        "otp", "account", "add", "ci", "--qr", str(path), stdin=stdin, stdout=io.StringIO()
    )
    assert stdin.tell() == 0
    assert accounts.get_account("ci").secret == SECRET
    # Read only: not changed, not copied next to it.
    assert path.read_bytes() == image
    assert sorted(p.name for p in tmp_path.iterdir()) == ["qr.png"]


def test_add_from_a_qr_code_prints_no_secret(tmp_path, frozen_clock):
    out, err = add_qr("github-bot", qr_png(tmp_path, URI))
    assert_no_secret(out + err)


def test_add_refuses_options_that_the_qr_codes_uri_sets_itself(tmp_path):
    message = refusal("account", "add", "ci", "--qr", str(qr_png(tmp_path, URI)), "--digits", "8")
    assert message.startswith("--digits: only for a bare secret")


def test_add_refuses_a_bad_name_before_reading_the_image(tmp_path):
    missing = tmp_path / "nothing-here.png"
    message = refusal("account", "add", "Bad Name", "--qr", str(missing))
    assert message.startswith("account name must match")


def test_add_refuses_a_qr_code_whose_name_is_taken(tmp_path, frozen_clock):
    add_qr("github-bot", qr_png(tmp_path, URI))
    other = qr_png(tmp_path, URI.replace(SECRET, OTHER_SECRET), "other.png")
    assert refusal("account", "add", "github-bot", "--qr", str(other)) == (
        'account "github-bot" already exists'
    )
    assert accounts.get_account("github-bot").secret == SECRET


def write_text_file(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text(URI)
    return path


def write_gif(tmp_path):
    path = tmp_path / "qr.gif"
    with Image.open(qr_png(tmp_path, URI)) as png:
        png.save(path, "GIF")
    return path


def write_truncated_png(tmp_path):
    path = qr_png(tmp_path, URI)
    path.write_bytes(path.read_bytes()[:200])
    return path


def write_blank_png(tmp_path):
    path = tmp_path / "blank.png"
    Image.new("RGB", (400, 300), "white").save(path)
    return path


MIGRATION = export_uri(payload(entry(SECRET, "alice")))


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda tmp: tmp / "missing.png", "cannot read {path}: No such file or directory"),
        (lambda tmp: tmp, "{path} is not a file"),
        (write_text_file, "{path} is not a PNG or JPEG image"),
        (write_gif, "{path} is not a PNG or JPEG image"),
        (write_truncated_png, "{path} is a damaged or truncated image"),
        (lambda tmp: header_only_png(tmp, 7000, 7000), "{path} has over 40,000,000 pixels"),
        (lambda tmp: header_only_png(tmp, 100_000, 100_000), "{path} has over 40,000,000 pixels"),
        (write_blank_png, "no QR code found in {path}"),
        (lambda tmp: side_by_side(tmp, URI, URI), "{path} shows 2 QR codes"),
        (
            lambda tmp: qr_png(tmp, "https://example.com/2fa"),
            "the QR code in {path} holds no otpauth",
        ),
        (lambda tmp: qr_png(tmp, SECRET), "the QR code in {path} holds no otpauth://totp/ URI"),
        (lambda tmp: qr_png(tmp, MIGRATION), "the QR code in {path} is a Google Authenticator"),
        (
            lambda tmp: qr_png(tmp, f"otpauth://hotp/x?secret={SECRET}&counter=1"),
            "HOTP (counter-based) URIs are not supported",
        ),
        (
            lambda tmp: qr_png(tmp, f"otpauth://totp/x?secret={SECRET}&algorithm=MD5"),
            "unsupported algorithm (got MD5)",
        ),
        (lambda tmp: qr_png(tmp, "otpauth://totp/x?issuer=ACME"), "the URI has no secret"),
    ],
)
def test_add_refuses_what_is_not_one_totp_qr_code_in_one_line(tmp_path, make, expected):
    path = make(tmp_path)
    message = refusal("account", "add", "some-bot", "--qr", str(path))
    assert message.startswith(expected.format(path=path))
    assert not Account.objects.exists()


def test_a_refused_qr_code_changes_nothing_already_stored(tmp_path, frozen_clock):
    add_qr("github-bot", qr_png(tmp_path, URI))
    with pytest.raises(CommandError):
        add_qr("other", write_blank_png(tmp_path))
    assert list(Account.objects.values_list("name", flat=True)) == ["github-bot"]
    assert AuditRecord.objects.count() == 1


# --- sizes zxing-cpp cannot take, what a code holds, split codes, transparency ---------------


@pytest.mark.parametrize("size", [(70_000, 10), (10, 70_000)])
def test_add_refuses_an_image_wider_or_taller_than_zxing_takes(tmp_path, size):
    path = tmp_path / "wide.png"
    Image.new("L", size, 255).save(path)
    width, height = size
    assert refusal("account", "add", "bot", "--qr", str(path)) == (
        f"{path} is {width:,} x {height:,} pixels: no side of a screenshot of a QR code is "
        "over 65,535"
    )


def test_add_refuses_a_one_pixel_wide_column_of_40_million_before_decoding(tmp_path):
    path = header_only_png(tmp_path, 1, 40_000_000)
    assert "no side of a screenshot of a QR code is over 65,535" in refusal(
        "account", "add", "bot", "--qr", str(path)
    )


def test_add_reports_zxing_refusing_an_image_in_one_line(tmp_path, monkeypatch):
    def refuse(*_args, **_options):
        raise ValueError("Maximum image width/height is 65535")

    monkeypatch.setattr("zxingcpp.read_barcodes", refuse)
    path = qr_png(tmp_path, URI)
    assert refusal("account", "add", "bot", "--qr", str(path)) == (
        f"{path} cannot be searched for a QR code"
    )


def qr_of_bytes(tmp_path, data: bytes):
    path = tmp_path / "bytes.png"
    segno.make(data, micro=False, mode="byte").save(path, kind="png", scale=6, border=8)
    return path


def test_add_checks_the_bytes_a_code_holds_as_standard_input_is_checked(tmp_path):
    held = f"{URI}&x=1".replace("issuer=GitHub", "issuer=Bin\x00\xff\xfe").encode()
    from_stdin = refusal("account", "add", "bot", stdin=held.decode())
    assert from_stdin == "the URI contains control characters"
    assert refusal("account", "add", "bot", "--qr", str(qr_of_bytes(tmp_path, held))) == from_stdin


def test_add_refuses_a_code_that_is_not_utf8_without_quoting_it(tmp_path):
    path = qr_of_bytes(tmp_path, URI.replace("GitHub", "Bin").encode() + b"\xff\xfe")
    assert refusal("account", "add", "bot", "--qr", str(path)) == (
        f"the QR code in {path} does not hold UTF-8 text"
    )


def test_add_reads_a_utf8_issuer_from_the_code_as_from_standard_input(tmp_path, frozen_clock):
    held = f"otpauth://totp/Soci%C3%A9t%C3%A9:bot?secret={SECRET}&issuer=Société"
    add_qr("societe", qr_of_bytes(tmp_path, held.encode()))
    add("from-stdin", held)
    assert accounts.get_account("societe").issuer == "Société"
    assert accounts.get_account("from-stdin").issuer == "Société"


def add(name, text):
    return call_otp("account", "add", name, stdin=text)


def test_add_refuses_a_code_holding_two_lines_as_standard_input_would(tmp_path):
    path = qr_of_bytes(tmp_path, f"{URI}\n{URI}".encode())
    assert refusal("account", "add", "bot", "--qr", str(path)) == (
        f"the QR code in {path} holds 2 lines; give one URI or secret (account import takes a "
        "file of several)"
    )


@pytest.mark.parametrize(("count", "error"), [(2, "L"), (2, "H"), (3, "M")])
def test_add_refuses_each_symbol_of_a_code_split_over_several(tmp_path, count, error):
    long_uri = f"{URI}&issuer-note={'x' * 120}"
    symbols = segno.make_sequence(long_uri, symbol_count=count, error=error, boost_error=False)
    assert len(symbols) == count
    for index, symbol in enumerate(symbols):
        path = tmp_path / f"part{index}.png"
        symbol.save(path, kind="png", scale=6, border=8)
        assert refusal("account", "add", "bot", "--qr", str(path)) == (
            f"{path} shows part {index + 1} of a QR code split over {count} symbols; an "
            "otpauth://totp/ URI is one QR code: show the site's QR code whole"
        )


@pytest.mark.parametrize("version", [5, 7, 20, 40])
def test_add_takes_a_whole_code_of_any_size_as_whole(tmp_path, frozen_clock, version):
    path = tmp_path / "big.png"
    symbol = segno.make(URI, version=version, error="L", boost_error=False, micro=False)
    symbol.save(path, kind="png", scale=3, border=4)
    out, _ = add_qr("bot", path)
    assert out.startswith("added account bot ")


def test_add_finds_a_code_on_a_transparent_background(tmp_path, frozen_clock):
    """Dark modules opaque black; the light area transparent black, as screenshot tools and
    segno (light=None) write it. Converted to grey without compositing, it is all black."""
    with Image.open(qr_png(tmp_path, URI)) as code:
        grey = code.convert("L")
    transparent = Image.new("RGBA", grey.size, (0, 0, 0, 0))
    transparent.putalpha(grey.point(lambda level: 255 - level))
    path = tmp_path / "transparent.png"
    transparent.save(path)
    out, _ = add_qr("github-bot", path)
    assert out.startswith("added account github-bot (issuer GitHub,")
    assert accounts.get_account("github-bot").secret == SECRET


def test_add_finds_a_code_on_a_palette_image_with_a_transparent_background(tmp_path, frozen_clock):
    path = tmp_path / "palette.png"
    segno.make(URI, micro=False).save(path, kind="png", scale=6, border=8, light=None)
    out, _ = add_qr("github-bot", path)
    assert out.startswith("added account github-bot (issuer GitHub,")
