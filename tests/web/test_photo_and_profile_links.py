"""A candidate's optional photo and profile links: set at /me or by the issuer's API.

The photo is re-encoded before it is stored (no EXIF, GPS, ICC profile, comment or text
chunk survives; EXIF orientation is applied), served only at ``/p/{handle}/photo`` and
only while the portfolio shows the candidate's name. Profile links are https: or mailto:
only, at most 5, and hidden with the name too.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from tests.html_page import csrf_of
from tests.issuer_app import IssuerHandle
from tests.web.candidate_sign_in import sign_in

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GPS = {1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 40.0)}
RED, BLUE = (220, 20, 20), (20, 20, 220)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


# --- images -------------------------------------------------------------------------------


def jpeg_with_gps() -> bytes:
    """A 64×32 JPEG, left half red, right half blue, that says "rotate 90° clockwise"
    (EXIF orientation 6), with a GPS position, a camera make, an ICC profile and a comment."""
    image = Image.new("RGB", (64, 32), BLUE)
    image.paste(RED, (0, 0, 32, 32))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = GPS  # GPSInfo
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), icc_profile=icc, comment=b"secret-comment")
    data = out.getvalue()
    check = Image.open(io.BytesIO(data))
    assert check.getexif().get_ifd(0x8825) and "icc_profile" in check.info  # the test's premise
    return data


def png_with_text() -> bytes:
    info = PngInfo()
    info.add_text("Author", "secret-author")
    info.add_itxt("Description", "secret-description")
    out = io.BytesIO()
    Image.new("RGBA", (40, 40), (0, 128, 0, 128)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (10, 200, 10)).save(out, "WEBP")
    return out.getvalue()


def big_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1600, 1200), (90, 90, 90)).save(out, "JPEG", quality=60)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A few bytes of PNG whose header declares ``width`` × ``height`` pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_MAGIC
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


def assert_clean(data: bytes) -> Image.Image:
    """The served photo: a JPEG with nothing but pixels."""
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info and "icc_profile" not in image.info
    assert "comment" not in image.info and "xmp" not in image.info
    for secret in (b"secret", b"SecretCam", b"Exif", b"ICC_PROFILE", b"tEXt", b"iTXt"):
        assert secret not in data
    assert max(image.size) <= 512
    return image


# --- helpers ------------------------------------------------------------------------------


def blob_files(app: FastAPI) -> list[Path]:
    root = Path(app.state.settings.data_dir)
    return sorted(p for p in root.rglob("*") if p.is_file() and ".incoming" not in p.parts)


def put_photo(
    client: TestClient,
    who: IssuerHandle,
    candidate: int,
    data: bytes,
    caption: str | None = "Ada smiling in front of a bookshelf",
    name: str = "photo.jpg",
    media: str = "image/jpeg",
) -> Any:
    return client.put(
        f"/api/v1/candidates/{candidate}/portfolio/photo",
        files={"file": (name, data, media)},
        data={} if caption is None else {"caption": caption},
        headers=who.auth,
    )


def patch(client: TestClient, who: IssuerHandle, candidate: int, **body: Any) -> Any:
    return client.patch(f"/api/v1/candidates/{candidate}/portfolio", json=body, headers=who.auth)


def public_portfolio(client: TestClient, who: IssuerHandle, candidate: int) -> str:
    """Give the candidate the handle ``ada`` on a public page with the name shown."""
    r = patch(client, who, candidate, handle="ada", visibility="public", show_name=True)
    assert r.status_code == 200, r.text
    return "/p/ada"


def photo_sha(app: FastAPI, candidate: int) -> str | None:
    from badgeworks.db.portfolio import Portfolio
    from badgeworks.services.portfolio import store as portfolio

    with app.state.session_factory() as session:
        row = portfolio.find_for_candidate(session, candidate)
        assert isinstance(row, Portfolio)
        return row.photo_sha256


def og_image(html: str) -> str | None:
    import re

    match = re.search(r'<meta property="og:image" content="([^"]+)"', html)
    return match.group(1) if match else None


# --- the photo through the API ------------------------------------------------------------


def test_api_photo_is_reencoded_without_metadata_and_turned_upright(
    app: FastAPI, client: TestClient, acme: IssuerHandle, known: int
) -> None:
    page = public_portfolio(client, acme, known)
    r = put_photo(client, acme, known, jpeg_with_gps())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["photo_url"] == f"http://127.0.0.1:8000{page}/photo"
    assert body["photo_caption"] == "Ada smiling in front of a bookshelf"
    served = client.get(f"{page}/photo")
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["cache-control"] == "no-cache"
    assert served.headers["x-content-type-options"] == "nosniff"
    image = assert_clean(served.content)
    # Orientation 6 applied: now 32 wide and 64 tall, the red half on top.
    assert image.size == (32, 64)
    top, bottom = image.convert("RGB").getpixel((16, 8)), image.convert("RGB").getpixel((16, 56))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]
    # The stored blob is the same clean file, and it is not served by its digest.
    sha = photo_sha(app, known)
    assert sha is not None
    assert client.get(f"/blobs/{sha}").status_code == 404
    # The page shows it next to the name, with the alt text and its size; og:image too.
    html = client.get(page).text
    assert (
        f'<img class="portfolio-photo" src="http://127.0.0.1:8000{page}/photo" '
        'alt="Ada smiling in front of a bookshelf" width="32" height="64">'
    ) in html
    assert og_image(html) == f"http://127.0.0.1:8000{page}/photo"
    assert "/blobs/" + sha not in html


def test_png_text_chunks_and_webp(
    app: FastAPI, client: TestClient, acme: IssuerHandle, known: int
) -> None:
    page = public_portfolio(client, acme, known)
    r = put_photo(client, acme, known, png_with_text(), name="me.png", media="image/png")
    assert r.status_code == 200, r.text
    image = assert_clean(client.get(f"{page}/photo").content)
    assert image.size == (40, 40)
    # Transparent areas become white-ish, not black.
    pixel = image.convert("RGB").getpixel((5, 5))
    assert isinstance(pixel, tuple) and pixel[1] > 150 and pixel[0] > 100
    # WebP, sent with a misleading name and type: the bytes decide.
    r = put_photo(client, acme, known, webp(), name="me.gif", media="image/gif")
    assert r.status_code == 200, r.text
    assert assert_clean(client.get(f"{page}/photo").content).size == (30, 20)
    # A large photo is shrunk to fit 512 × 512.
    r = put_photo(client, acme, known, big_jpeg())
    assert r.status_code == 200, r.text
    assert assert_clean(client.get(f"{page}/photo").content).size == (512, 384)


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (SVG, 415, "portfolio.photo_type"),
        (b"<!doctype html><title>x</title><script>alert(1)</script>", 415, "portfolio.photo_type"),
        (b"GIF89a" + b"\x00" * 40, 415, "portfolio.photo_type"),
        (PNG_MAGIC + b"garbage" * 50, 422, "portfolio.photo_unreadable"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 200, 422, "portfolio.photo_unreadable"),
        (png_declaring(100_000, 100_000), 422, "portfolio.photo_too_many_pixels"),
        (png_declaring(8_000, 6_000), 422, "portfolio.photo_too_many_pixels"),
        (b"\xff\xd8\xff" + b"x" * (100 * 1024), 413, "input.too_large"),
        (b"", 400, "input.empty"),
    ],
    ids=[
        "svg",
        "html",
        "gif",
        "png-garbage",
        "jpeg-garbage",
        "bomb",
        "48-megapixels",
        "too-large",
        "empty",
    ],
)
def test_api_refuses_bad_photos_and_stores_nothing(
    app: FastAPI,
    client: TestClient,
    acme: IssuerHandle,
    known: int,
    data: bytes,
    status: int,
    code: str,
) -> None:
    page = public_portfolio(client, acme, known)
    before = blob_files(app)
    r = put_photo(client, acme, known, data, name="photo.png", media="image/png")
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    assert blob_files(app) == before
    assert photo_sha(app, known) is None
    assert client.get(f"{page}/photo").status_code == 404


def test_api_oversized_body_is_refused_before_the_route(
    app: FastAPI, client: TestClient, acme: IssuerHandle, known: int
) -> None:
    before = blob_files(app)
    r = put_photo(client, acme, known, b"\xff\xd8\xff" + b"x" * (300 * 1024))
    assert r.status_code == 413 and r.json()["code"] == "input.too_large"
    assert blob_files(app) == before


@pytest.mark.parametrize("caption", [None, "", "   "])
def test_api_photo_needs_alt_text(
    app: FastAPI, client: TestClient, acme: IssuerHandle, known: int, caption: str | None
) -> None:
    before = blob_files(app)
    r = put_photo(client, acme, known, jpeg_with_gps(), caption=caption)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "portfolio.photo_alt_required"
    assert blob_files(app) == before and photo_sha(app, known) is None


def test_replacing_and_deleting_removes_the_old_file(
    app: FastAPI, client: TestClient, acme: IssuerHandle, known: int
) -> None:
    page = public_portfolio(client, acme, known)
    before = blob_files(app)
    assert put_photo(client, acme, known, jpeg_with_gps()).status_code == 200
    first = photo_sha(app, known)
    assert put_photo(client, acme, known, webp()).status_code == 200
    second = photo_sha(app, known)
    assert first and second and first != second
    store = app.state.ctx.blobs
    assert not store.exists(first) and store.exists(second)
    r = client.delete(f"/api/v1/candidates/{known}/portfolio/photo", headers=acme.auth)
    assert r.status_code == 200 and r.json()["photo_url"] is None
    assert not store.exists(second)
    assert blob_files(app) == before
    assert client.get(f"{page}/photo").status_code == 404
    assert og_image(client.get(page).text) != f"http://127.0.0.1:8000{page}/photo"
    # Deleting again changes nothing.
    r = client.delete(f"/api/v1/candidates/{known}/portfolio/photo", headers=acme.auth)
    assert r.status_code == 200


def test_another_issuer_cannot_change_the_photo(
    app: FastAPI, client: TestClient, acme: IssuerHandle, globex: IssuerHandle, known: int
) -> None:
    assert put_photo(client, acme, known, webp()).status_code == 200
    sha = photo_sha(app, known)
    assert put_photo(client, globex, known, jpeg_with_gps()).status_code == 404
    r = client.delete(f"/api/v1/candidates/{known}/portfolio/photo", headers=globex.auth)
    assert r.status_code == 404
    assert patch(client, globex, known, links=[]).status_code == 404
    assert put_photo(client, IssuerHandle("x", "wrong"), known, webp()).status_code == 401
    assert photo_sha(app, known) == sha


# --- what visitors see --------------------------------------------------------------------

LINKS = [
    {"label": "LinkedIn", "url": "https://www.linkedin.com/in/ada-lovelace"},
    {"label": "GitHub", "url": "https://github.com/ada"},
    {"label": "Email me", "url": "mailto:ada@example.org"},
]


def test_photo_and_links_follow_the_name_and_the_page(
    app: FastAPI, client: TestClient, acme: IssuerHandle, known: int
) -> None:
    page = public_portfolio(client, acme, known)
    assert put_photo(client, acme, known, jpeg_with_gps()).status_code == 200
    r = patch(client, acme, known, links=LINKS)
    assert r.status_code == 200, r.text
    assert r.json()["links"] == LINKS
    html = client.get(page).text
    for link in LINKS:
        assert f'<a href="{link["url"]}" rel="me noopener">{link["label"]}</a>' in html
    assert 'class="portfolio-photo"' in html
    # Name hidden: no photo, no links, the photo's URL is 404, og:image is not the photo.
    assert patch(client, acme, known, show_name=False).status_code == 200
    html = client.get(page).text
    assert "portfolio-photo" not in html and "Ada smiling" not in html
    assert "linkedin.com/in/ada" not in html and "github.com/ada" not in html
    assert og_image(html) != f"http://127.0.0.1:8000{page}/photo"
    assert client.get(f"{page}/photo").status_code == 404
    # The settings are kept: showing the name again shows them again.
    assert patch(client, acme, known, show_name=True).status_code == 200
    assert client.get(f"{page}/photo").status_code == 200
    # Unlisted: shown, but the photo asks not to be indexed.
    assert patch(client, acme, known, visibility="unlisted").status_code == 200
    assert client.get(f"{page}/photo").headers["x-robots-tag"] == "noindex"
    # A hidden portfolio: 404 everywhere, and never through /blobs/.
    assert patch(client, acme, known, visibility="hidden").status_code == 200
    assert client.get(page).status_code == 404
    assert client.get(f"{page}/photo").status_code == 404
    assert client.get(f"/blobs/{photo_sha(app, known)}").status_code == 404


def test_link_labels_are_escaped(client: TestClient, acme: IssuerHandle, known: int) -> None:
    page = public_portfolio(client, acme, known)
    label = '<script>alert("x")</script>'
    r = patch(client, acme, known, links=[{"label": label, "url": "https://example.org/?a=1&b=2"}])
    assert r.status_code == 200, r.text
    html = client.get(page).text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert 'href="https://example.org/?a=1&amp;b=2"' in html


@pytest.mark.parametrize(
    "links",
    [
        [{"label": "x", "url": "javascript:alert(1)"}],
        [{"label": "x", "url": "JavaScript:alert(1)"}],
        [{"label": "x", "url": "http://example.org"}],
        [{"label": "x", "url": "data:text/html,<script>alert(1)</script>"}],
        [{"label": "x", "url": "//example.org"}],
        [{"label": "x", "url": "https://"}],
        [{"label": "x", "url": "https://github.com@evil.example/"}],
        [{"label": "x", "url": "https://exa mple.org"}],
        [{"label": "x", "url": 'https://example.org/"onmouseover="x'}],
        [{"label": "x", "url": "mailto:ada@example.org?bcc=all@example.org"}],
        [{"label": "x", "url": "mailto:"}],
        [{"label": "", "url": "https://example.org"}],
        [{"label": "x" * 61, "url": "https://example.org"}],
        [{"label": "x", "url": "https://example.org/" + "a" * 300}],
        [{"label": "tab\there", "url": "https://example.org"}],
        [{"label": "x", "url": "https://example.org", "extra": 1}],
        [{"label": f"l{i}", "url": "https://example.org"} for i in range(6)],
    ],
    ids=lambda v: str(v)[:40],
)
def test_bad_links_are_refused(
    app: FastAPI, client: TestClient, acme: IssuerHandle, known: int, links: list[Any]
) -> None:
    assert patch(client, acme, known, links=LINKS[:1]).status_code == 200
    r = patch(client, acme, known, links=links)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "request.invalid"
    view = client.get(f"/api/v1/candidates/{known}/portfolio", headers=acme.auth).json()
    assert view["links"] == LINKS[:1]


def test_links_can_be_cleared(client: TestClient, acme: IssuerHandle, known: int) -> None:
    assert patch(client, acme, known, links=LINKS).status_code == 200
    assert patch(client, acme, known, headline="x").json()["links"] == LINKS  # untouched
    assert patch(client, acme, known, links=[]).json()["links"] == []
    assert patch(client, acme, known, links=LINKS).status_code == 200
    assert patch(client, acme, known, links=None).json()["links"] == []


# --- at /me -------------------------------------------------------------------------------


def me_upload(
    client: TestClient, candidate: int, data: bytes | None, caption: str = "Me, smiling"
) -> Any:
    token = csrf_of(client.get("/me").text)
    files = {"file": ("photo.jpg", data or b"", "image/jpeg")}
    return client.post(
        f"/me/photo/{candidate}",
        data={"csrf_token": token, "caption": caption},
        files=files,
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )


def test_candidate_sets_photo_and_links_at_me(
    app: FastAPI, client: TestClient, acme: IssuerHandle, known: int
) -> None:
    page = public_portfolio(client, acme, known)
    sign_in(app, client)
    html = client.get("/me").text
    assert f'action="/me/photo/{known}"' in html and 'enctype="multipart/form-data"' in html
    assert html.count('name="link_label_') == 5
    r = me_upload(client, known, jpeg_with_gps())
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/me?saved={known}&what=photo"
    html = client.get(r.headers["location"]).text
    assert "Your photo is saved." in html
    assert f'<img class="photo-preview" src="/me/photo/{known}" alt="Me, smiling"' in html
    own = client.get(f"/me/photo/{known}")
    assert own.status_code == 200 and own.headers["cache-control"] == "no-store"
    assert_clean(own.content)
    served = client.get(f"{page}/photo")
    assert served.status_code == 200 and served.content == own.content
    # Only the alt text changes when no file is chosen.
    r = me_upload(client, known, None, caption="Ada at her desk")
    assert r.status_code == 303
    assert 'alt="Ada at her desk"' in client.get(page).text
    # Links: rows as typed, empty ones ignored.
    token = csrf_of(client.get("/me").text)
    r = client.post(
        "/me/portfolio",
        data={
            "csrf_token": token,
            "candidate_id": str(known),
            "handle": "ada",
            "visibility": "public",
            "show_name": "on",
            "link_label_0": "GitHub",
            "link_url_0": "https://github.com/ada",
            "link_label_1": "",
            "link_url_1": "",
            "link_label_2": "Site <b>",
            "link_url_2": "https://ada.example",
            "link_label_3": "",
            "link_url_3": "",
            "link_label_4": "",
            "link_url_4": "",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    view = client.get(f"/api/v1/candidates/{known}/portfolio", headers=acme.auth).json()
    assert view["links"] == [
        {"label": "GitHub", "url": "https://github.com/ada"},
        {"label": "Site <b>", "url": "https://ada.example"},
    ]
    html = client.get(page).text
    assert '<a href="https://ada.example" rel="me noopener">Site &lt;b&gt;</a>' in html
    # Hide the name at /me: the page drops photo and links; /me says why the photo is hidden.
    token = csrf_of(client.get("/me").text)
    r = client.post(
        "/me/portfolio",
        data={"csrf_token": token, "candidate_id": str(known), "visibility": "public"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.get(f"{page}/photo").status_code == 404
    assert "github.com/ada" not in client.get(page).text
    assert "visitors do not see this photo" in client.get("/me").text
    assert client.get(f"/me/photo/{known}").status_code == 200  # she still sees her own
    # A form without link rows leaves the links alone.
    view = client.get(f"/api/v1/candidates/{known}/portfolio", headers=acme.auth).json()
    assert len(view["links"]) == 2
    # Remove the photo.
    token = csrf_of(client.get("/me").text)
    r = client.post(f"/me/photo/{known}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert "Your photo is removed." in client.get(r.headers["location"]).text
    assert photo_sha(app, known) is None
    assert client.get(f"/me/photo/{known}").status_code == 404


@pytest.mark.parametrize(
    ("data", "caption", "status", "message"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "x", 415, "not a PNG, JPEG or WebP"),
        (b"<html><script>alert(1)</script></html>", "x", 415, "not a PNG, JPEG or WebP"),
        (PNG_MAGIC + b"garbage" * 50, "x", 422, "could not be read"),
        (png_declaring(100_000, 100_000), "x", 422, "too many pixels"),
        (b"\xff\xd8\xff" + b"x" * (100 * 1024), "x", 413, "larger than 64 KB"),
        (None, "x", 422, "Choose a photo file"),
        ("gps", "   ", 422, "the description is required"),
    ],
    ids=["svg", "html", "png-garbage", "bomb", "too-large", "no-file", "no-alt"],
)
def test_me_refuses_bad_photos_with_a_page(
    app: FastAPI,
    client: TestClient,
    known: int,
    data: bytes | str | None,
    caption: str,
    status: int,
    message: str,
) -> None:
    sign_in(app, client)
    before = blob_files(app)
    payload = jpeg_with_gps() if data == "gps" else data
    assert not isinstance(payload, str)
    r = me_upload(client, known, payload, caption=caption)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in r.text and message in r.text
    assert "Nothing was saved." in r.text
    assert blob_files(app) == before and photo_sha(app, known) is None


def test_me_photo_errors_in_spanish(app: FastAPI, client: TestClient, known: int) -> None:
    sign_in(app, client)
    client.get("/me?lang=es")
    r = me_upload(client, known, b"GIF89a" + b"\x00" * 40)
    assert r.status_code == 415
    assert "no es una imagen PNG, JPEG o WebP" in r.text


SIX_ROWS = {
    f"link_{kind}_{i}": value
    for i in range(6)
    for kind, value in (("label", "x"), ("url", "https://a.example"))
}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"link_label_0": "Evil", "link_url_0": "javascript:alert(1)"}, "Link 1: the address"),
        ({"link_label_2": "Plain", "link_url_2": "http://example.org"}, "Link 3: the address"),
        ({"link_label_1": "Data", "link_url_1": "data:text/html,x"}, "Link 2: the address"),
        ({"link_label_0": "", "link_url_0": "https://example.org"}, "Link 1: give it a label"),
        (
            {"link_label_0": "x" * 61, "link_url_0": "https://example.org"},
            "Link 1: give it a label",
        ),
        (SIX_ROWS, "At most 5 profile links."),
    ],
    ids=["javascript", "http", "data", "no-label", "long-label", "six"],
)
def test_me_refuses_bad_links(
    app: FastAPI,
    client: TestClient,
    acme: IssuerHandle,
    known: int,
    rows: dict[str, str],
    message: str,
) -> None:
    sign_in(app, client)
    token = csrf_of(client.get("/me").text)
    r = client.post(
        "/me/portfolio",
        data={"csrf_token": token, "candidate_id": str(known), "headline": "changed", **rows},
    )
    assert r.status_code == 422, r.text
    assert 'role="alert"' in r.text and message in r.text
    # What was typed is kept in the form (escaped), and nothing was saved.
    first = next(iter(rows.values()))
    if first and "<" not in first:
        assert f'value="{first}"' in r.text
    view = client.get(f"/api/v1/candidates/{known}/portfolio", headers=acme.auth).json()
    assert view["links"] == [] and view["headline"] is None


def test_me_only_reaches_the_candidates_own_photo(
    app: FastAPI, client: TestClient, acme: IssuerHandle, known: int
) -> None:
    assert put_photo(client, acme, known, webp()).status_code == 200
    sha = photo_sha(app, known)
    r = client.post(
        f"/api/v1/issuers/{acme.slug}/candidates",
        json={"name": "Mallory", "emails": ["mallory@example.org"]},
        headers=acme.auth,
    )
    assert r.status_code == 201
    mallory = r.json()["id"]
    sign_in(app, client, "mallory@example.org")
    token = csrf_of(client.get("/me").text)
    r = client.post(
        f"/me/photo/{known}",
        data={"csrf_token": token, "caption": "x"},
        files={"file": ("p.jpg", jpeg_with_gps(), "image/jpeg")},
    )
    assert r.status_code == 404
    r = client.post(f"/me/photo/{known}/delete", data={"csrf_token": token})
    assert r.status_code == 404
    assert client.get(f"/me/photo/{known}").status_code == 404
    r = client.post(
        "/me/portfolio",
        data={"csrf_token": token, "candidate_id": str(known), "link_label_0": "x"},
    )
    assert r.status_code == 404
    assert photo_sha(app, known) == sha
    # Without the CSRF token, not even her own row changes.
    r = client.post(
        f"/me/photo/{mallory}",
        data={"caption": "x"},
        files={"file": ("p.jpg", jpeg_with_gps(), "image/jpeg")},
    )
    assert r.status_code == 403
    assert photo_sha(app, mallory) is None


def test_signed_out_photo_routes_go_to_sign_in(client: TestClient, known: int) -> None:
    for method, path in (
        ("GET", f"/me/photo/{known}"),
        ("POST", f"/me/photo/{known}"),
        ("POST", f"/me/photo/{known}/delete"),
    ):
        r = client.request(method, path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/me/sign-in", (method, path)


def test_export_holds_the_portfolio_choices_and_the_stored_photo(
    app: FastAPI, client: TestClient, acme: IssuerHandle, known: int
) -> None:
    """ "Download everything": the zip has the portfolio settings and the photo as stored
    (the re-encoded JPEG, without the uploaded file's metadata)."""
    import json
    import zipfile

    public_portfolio(client, acme, known)
    r = patch(client, acme, known, links=[{"label": "GitHub", "url": "https://github.com/ada"}])
    assert r.status_code == 200, r.text
    assert put_photo(client, acme, known, jpeg_with_gps()).status_code == 200
    served = client.get("/p/ada/photo").content
    sign_in(app, client)
    archive = zipfile.ZipFile(io.BytesIO(client.get("/me/export.zip").content))
    settings = json.loads(archive.read(f"portfolio/{known}/settings.json"))
    assert settings == {
        "handle": "ada",
        "visibility": "public",
        "show_name": True,
        "headline": None,
        "links": [{"label": "GitHub", "url": "https://github.com/ada"}],
        "photo_caption": "Ada smiling in front of a bookshelf",
    }
    assert archive.read(f"portfolio/{known}/photo.jpg") == served
    assert_clean(served)
