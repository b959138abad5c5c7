"""Animation of the window sliding over every output position, rendered offline."""

from __future__ import annotations

import hashlib
import re

from matplotlib.animation import FuncAnimation, PillowWriter

from ..padding import check_positive_int
from .draw import _place, _window_figure
from .geometry import conv_geometry


def animate_conv(
    n_h: int,
    n_w: int,
    k,
    *,
    stride=1,
    padding="valid",
    dilation=1,
    interval: int = 500,
    cell: float = 0.3,
    dpi: int = 75,
) -> FuncAnimation:
    """A :class:`~matplotlib.animation.FuncAnimation` of the window visiting every output cell.

    One frame per output position, row by row: ``H_out * W_out`` frames (sizes from
    :func:`conv_geometry`). Render with :func:`to_jshtml` or :func:`save_gif`.

    Examples
    --------
    >>> anim = animate_conv(4, 4, 3)
    >>> to_jshtml(anim).frames
    4
    """
    gh, gw = conv_geometry(n_h, n_w, k, stride=stride, padding=padding, dilation=dilation)
    fig, window, current = _window_figure(gh, gw, cell=cell)
    fig.set_dpi(dpi)  # frames are embedded as base64 PNGs: keep the page light

    def update(frame: int) -> list:
        _place(window, current, gh, gw, *divmod(frame, gw.out))
        return [*window, current]

    anim = FuncAnimation(fig, update, frames=range(gh.out * gw.out), interval=interval, blit=False)
    anim.frame_count = gh.out * gw.out
    return anim


_FA_ICONS = {  # Font Awesome names in matplotlib's template -> plain glyphs (no CDN stylesheet)
    "fa-minus": "&minus;",
    "fa-fast-backward": "|&#9664;&#9664;",
    "fa-step-backward": "|&#9664;",
    "fa-play fa-flip-horizontal": "&#9664;",
    "fa-pause": "&#8214;",
    "fa-play": "&#9654;",
    "fa-step-forward": "&#9654;|",
    "fa-fast-forward": "&#9654;&#9654;|",
    "fa-plus": "+",
}


class AnimationHTML:
    """Self-contained HTML of an animation; notebooks display it, ``str()`` gives the markup."""

    def __init__(self, html: str, frames: int):
        self.html, self.frames = html, frames

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<animation: {self.frames} frames>"


def to_jshtml(anim: FuncAnimation, *, default_mode: str = "loop") -> AnimationHTML:
    """Render ``anim`` to self-contained HTML (frames embedded as base64 PNGs).

    Unlike ``anim.to_jshtml()`` the result requests nothing from another host (matplotlib's
    Font Awesome ``<link>`` is dropped and its icons become plain glyphs) and is
    deterministic: the random element id is replaced by a hash of the content.

    Examples
    --------
    >>> html = str(to_jshtml(animate_conv(3, 3, 2)))
    >>> "https://" in html, html.count('class="anim-buttons"')
    (False, 1)
    """
    html = anim.to_jshtml(default_mode=default_mode)
    html = re.sub(r"<link rel=\"stylesheet\"\s+href=\"https?://[^\"]*\">", "", html)
    for name, glyph in _FA_ICONS.items():
        html = html.replace(f'<i class="fa {name}"></i>', glyph)
    uid = re.search(r"_anim_img([0-9a-f]{32})", html).group(1)
    digest = hashlib.sha1(html.replace(uid, "").encode()).hexdigest()[:32]
    frames = len(re.findall(r"frames\[\d+\] = ", html))
    return AnimationHTML(html.replace(uid, digest), frames)


def save_gif(anim: FuncAnimation, path, *, fps: int = 2, dpi: int = 60) -> None:
    """Write ``anim`` as a GIF with Pillow (no external program needed)."""
    anim.save(path, writer=PillowWriter(fps=check_positive_int(fps, "fps")), dpi=dpi)
