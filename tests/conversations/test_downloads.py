"""The name a download is offered under: the sender's base name, the served type's extension."""

from __future__ import annotations

import pytest

from helpdesk.conversations.downloads import download_filename
from helpdesk.conversations.models import Attachment


def _named(filename: str) -> Attachment:
    return Attachment(filename=filename)


@pytest.mark.parametrize(
    ("filename", "content_type", "offered"),
    [
        ("x.html", "image/gif", "x.gif"),  # a GIF/HTML polyglot never downloads as a page
        ("invoice.html", "application/pdf", "invoice.pdf"),
        ("x.html", "application/octet-stream", "x.bin"),  # a refused type is opaque bytes
        ("receipt", "application/pdf", "receipt.pdf"),
        ("report v1.2", "application/pdf", "report v1.2.pdf"),  # ".2" is not an extension
        ("photo.png.exe", "image/png", "photo.png.png"),
    ],
)
def test_download_filename_takes_the_extension_from_the_served_type(
    filename, content_type, offered
):
    assert download_filename(_named(filename), content_type) == offered


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [("Photo.JPG", "image/jpeg"), ("scan.jpeg", "image/jpeg"), ("Notes.TXT", "text/plain")],
)
def test_download_filename_keeps_an_extension_that_fits(filename, content_type):
    assert download_filename(_named(filename), content_type) == filename


@pytest.mark.parametrize(
    ("filename", "offered"),
    [
        ("x.html.", "x.gif"),  # Windows drops trailing dots: "x.html." would open as HTML
        ("x.html . ", "x.gif"),
        (".htaccess", "htaccess.gif"),  # no hidden files
        ('a"b<c>:d|e?f*.html', "a_b_c__d_e_f_.gif"),
        ("../../etc/passwd.html", "passwd.gif"),
        ("evil\u202egpj.html", "evilgpj.gif"),  # no bidi override to disguise the extension
    ],
)
def test_download_filename_sanitises_the_base_name(filename, offered):
    assert download_filename(_named(filename), "image/gif") == offered


@pytest.mark.parametrize("filename", ["", "...", " . ", "../"])
def test_download_filename_without_a_usable_name_is_attachment(filename):
    assert download_filename(_named(filename), "application/pdf") == "attachment.pdf"
