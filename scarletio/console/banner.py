"""What the console prints before its first prompt: the "scarletio" art, the version and the intro.

Part of the console (high level). Pure text: nothing here writes to a stream, so the console decides
where the banner goes and tests can read it.
"""

from __future__ import annotations

import sys

__all__ = ("render_banner",)

# The word "scarletio" in a slanted figlet-like lettering; trailing spaces are trimmed on purpose.
ART = (
    r"                         __     __  _",
    r"   ______________ ______/ /__  / /_(_)___",
    r"  / ___/ ___/ __ `/ ___/ / _ \/ __/ / __ \ ",
    r" (__  ) /__/ /_/ / /  / /  __/ /_/ / /_/ /",
    r"/____/\___/\__,_/_/  /_/\___/\__/_/\____/",
)


def render_art(version: str) -> str:
    """Return the art with `version` right-aligned on the line under it.

    Args:
        version: The package version to show.

    Returns:
        The lines, each ending with a newline.
    """
    lines = [line.rstrip() for line in ART]
    width = max(len(line) for line in lines)
    lines.append(version.rjust(width))
    return "".join(line + "\n" for line in lines)


def render_intro() -> str:
    """Return the lines that name the console, the Python running it and where to get help.

    Returns:
        The lines, each ending with a newline.
    """
    python = sys.version.replace("\r", "").replace("\n", "")
    return (
        f"Scarletio interactive console {python} on {sys.platform}.\n"
        'Use "await" directly.\n'
        'Type "help", "copyright", "credits" or "license" for more information.\n'
    )


def render_banner(version: str) -> str:
    """Return the whole banner: the art, the version, a blank line and the intro.

    Args:
        version: The package version to show.

    Returns:
        The text, ending with a newline.
    """
    return render_art(version) + "\n" + render_intro()
