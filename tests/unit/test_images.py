import io

import numpy as np
import pytest
from PIL import Image

from nblabel.core.images import ImageLoadError, image_size, load_display_image, load_rgb


def test_jpeg_is_sent_unchanged(tmp_path):
    path = tmp_path / "a.jpg"
    Image.new("RGB", (40, 30), "red").save(path)
    img = load_display_image(path)
    assert img.data == path.read_bytes()
    assert img.mime == "image/jpeg" and (img.size.width, img.size.height) == (40, 30)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(ImageLoadError, match=r"not found: .*nope\.jpg"):
        load_display_image(tmp_path / "nope.jpg")


def test_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0garbage")
    with pytest.raises(ImageLoadError, match=r"bad\.jpg"):
        load_display_image(path)


def test_unknown_format_is_named_even_with_ultralytics_loaded(tmp_path):
    import ultralytics  # noqa: F401 - it patches PIL's Image.open

    path = tmp_path / "notes.jpg"
    path.write_text("just some text")
    with pytest.raises(ImageLoadError, match=r"unknown format.*notes\.jpg"):
        load_rgb(path)


def test_truncated_jpeg_is_a_clear_error(tmp_path):
    path = tmp_path / "cut.jpg"
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
        buf, "JPEG")
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageLoadError, match="corrupt or truncated"):
        load_rgb(path)


def test_sixteen_bit_png_becomes_8bit_png(tmp_path):
    path = tmp_path / "deep.png"
    arr = (np.arange(20 * 10, dtype=np.uint16).reshape(10, 20) * 300)
    Image.fromarray(arr).save(path)
    img = load_display_image(path)
    assert img.mime == "image/png"
    back = Image.open(io.BytesIO(img.data))
    assert back.mode == "RGB" and back.size == (20, 10)
    assert np.asarray(back)[..., 0].max() == 255


def test_cmyk_and_tiff_are_converted(tmp_path):
    cmyk = tmp_path / "c.jpg"
    Image.new("CMYK", (8, 6), (0, 255, 255, 0)).save(cmyk)
    tif = tmp_path / "t.tif"
    Image.new("RGB", (8, 6), "blue").save(tif)
    for path in (cmyk, tif):
        img = load_display_image(path)
        assert img.mime == "image/png"
        assert Image.open(io.BytesIO(img.data)).mode in ("RGB", "RGBA")
    assert load_rgb(cmyk).getpixel((0, 0))[0] > 200, "CMYK red stays red"


def test_exif_rotation_is_applied_everywhere(tmp_path):
    path = tmp_path / "rot.jpg"
    img = Image.new("RGB", (40, 20), "green")
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    img.save(path, exif=exif)
    shown = load_display_image(path)
    assert (shown.size.width, shown.size.height) == (20, 40)
    assert load_rgb(path).size == (20, 40)
    assert (image_size(path).width, image_size(path).height) == (20, 40)


def test_large_image_gets_a_preview_with_full_size(tmp_path):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (6000, 4000), "white").save(path, quality=80)
    prev = load_display_image(path, max_side=2048)
    assert prev.preview and prev.mime == "image/jpeg"
    assert (prev.size.width, prev.size.height) == (6000, 4000), "coordinates stay full-size"
    assert max(Image.open(io.BytesIO(prev.data)).size) <= 2048
    full = load_display_image(path)
    assert not full.preview and full.data == path.read_bytes()
    small = tmp_path / "small.jpg"
    Image.new("RGB", (640, 480)).save(small)
    assert not load_display_image(small, max_side=2048).preview
