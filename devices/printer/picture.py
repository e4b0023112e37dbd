"""Draw a whole ticket as a black-and-white picture, for image-mode printers and screens."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from devices.base import DeviceError
from devices.printer.content import Block, QrCode, Separator, clean_text, ticket_blocks
from devices.printer.profile import PrinterProfile
from devices.printer.ticket import TicketPrint

# Debian package first: it is what the kiosk image installs (fonts-wqy-zenhei).
CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
BASE_DOTS = 24  # a printer's Font A is 24 dots high: the picture keeps the same scale
MARGIN_DOTS = 8
LINE_GAP_DOTS = 6
QR_QUIET_MODULES = 4  # the quiet zone QR readers need around the code


def find_cjk_font(font_path: str | None = None) -> str:
    """Return a font file that draws Chinese, or raise DeviceError saying what to install."""
    if font_path is not None:
        if not Path(font_path).is_file():
            raise DeviceError(f"找不到打印字体文件 {font_path} / Printer font file not found")
        return font_path
    for candidate in CJK_FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    raise DeviceError(
        "找不到中文字体，请安装 fonts-wqy-zenhei（或 fonts-noto-cjk），或配置 font_path / "
        "No Chinese font found: apt-get install fonts-wqy-zenhei, or set font_path"
    )


@lru_cache(maxsize=32)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Split ``text`` into lines no wider than ``width``, breaking English at spaces."""
    lines: list[str] = []
    current = ""
    for ch in text:
        if font.getlength(current + ch) <= width or not current:
            current += ch
            continue
        space = current.rfind(" ")
        if ch != " " and ch.isascii() and space > 0 and current[space + 1 :].isascii():
            lines.append(current[:space])
            current = current[space + 1 :] + ch
        else:
            lines.append(current)
            current = "" if ch == " " else ch
    if current or not lines:
        lines.append(current)
    return lines


def qr_image(url: str, module_dots: int) -> Image.Image:
    """Draw ``url`` as a QR code (error level M) with its quiet zone, 1 bit per pixel."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QR_QUIET_MODULES)
    code.add_data(url)
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    size = len(matrix)
    small = Image.new("1", (size, size), 1)
    small.putdata([0 if dark else 1 for row in matrix for dark in row])
    return small.resize((size * module_dots, size * module_dots), Image.Resampling.NEAREST)


def _block_picture(block: Block, profile: PrinterProfile, font_path: str) -> Image.Image:
    width = profile.width_dots
    inner = width - 2 * MARGIN_DOTS
    if isinstance(block, Separator):
        picture = Image.new("1", (width, BASE_DOTS), 1)
        y = BASE_DOTS // 2
        ImageDraw.Draw(picture).line([(MARGIN_DOTS, y), (width - MARGIN_DOTS, y)], fill=0, width=2)
        return picture
    if isinstance(block, QrCode):
        code = qr_image(block.url, profile.qr_module_dots)
        picture = Image.new("1", (width, code.height), 1)
        picture.paste(code, ((width - code.width) // 2, 0))
        return picture
    font = _font(font_path, BASE_DOTS * block.scale)
    lines = _wrap(clean_text(block.text), font, inner)
    ascent, descent = font.getmetrics()
    line_height = ascent + descent + LINE_GAP_DOTS
    picture = Image.new("1", (width, line_height * len(lines)), 1)
    draw = ImageDraw.Draw(picture)
    for i, line in enumerate(lines):
        length = font.getlength(line)
        x = MARGIN_DOTS if block.align == "left" else (width - length) / 2
        # No bold face in the font: a stroke thickens it as a printer's emphasis does.
        stroke = max(1, block.scale // 2) if block.bold else 0
        draw.text((x, i * line_height), line, font=font, fill=0, stroke_width=stroke, stroke_fill=0)
    return picture


def render_image(ticket: TicketPrint, profile: PrinterProfile) -> Image.Image:
    """Draw the whole ticket ``profile.width_dots`` wide, black on white (mode "1")."""
    font_path = find_cjk_font(profile.font_path)
    parts = [
        _block_picture(block, profile, font_path)
        for block in ticket_blocks(ticket, number_scale=profile.number_scale)
    ]
    height = sum(part.height for part in parts) + 2 * MARGIN_DOTS
    picture = Image.new("1", (profile.width_dots, height), 1)
    y = MARGIN_DOTS
    for part in parts:
        picture.paste(part, (0, y))
        y += part.height
    return picture


def render_png(ticket: TicketPrint, profile: PrinterProfile) -> bytes:
    """Return the ticket as a PNG: the same picture an image-mode printer prints."""
    buffer = io.BytesIO()
    render_image(ticket, profile).save(buffer, format="PNG")
    return buffer.getvalue()
