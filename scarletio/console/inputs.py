"""Turning typed or piped lines into numbered, compiled inputs (top-level `await` allowed).

Part of the console (high level). An input is complete when it compiles, incomplete when it needs more
lines (an open bracket, a block started with `:`), and a block ends at an empty line, following the
rules of `code.compile_command` with `ast.PyCF_ALLOW_TOP_LEVEL_AWAIT` added to the compiler flags.

Pasted or piped scripts often go on with the next statement without an empty line after a block. A
line that starts at column 0 and makes the collected block a syntax error therefore ends that block,
as it would in a script file: the block runs as one input and the line starts the next. Indented lines
never do this, so a typo inside a block is still reported as the typo.
"""

from __future__ import annotations

import ast
import codeop
import linecache
from dataclasses import dataclass
from types import CodeType
from typing import final

__all__ = ("InputAssembler", "Submission")

COMPILE_ERRORS = (SyntaxError, OverflowError, ValueError)
"""What compiling an input may raise besides incompleteness (as `code.compile_command` documents)."""

# The flags `codeop` adds only to tell incomplete input from wrong input; a final compile drops them.
_PROBING_FLAGS: int = getattr(codeop, "PyCF_DONT_IMPLY_DEDENT", 0x200) | getattr(
    codeop, "PyCF_ALLOW_INCOMPLETE_INPUT", 0x4000
)


@final
@dataclass(frozen=True)
class Submission:
    """One complete input, compiled or not.

    Attributes:
        number: The input's number, the `N` of its `In [N]: ` prompt.
        filename: The name its code and tracebacks show, `<In [N]>`.
        source: The lines as entered.
        code: The code object for mode "single", or `None` if the input does not compile.
        error: Why it does not compile, or `None`.
    """

    number: int
    filename: str
    source: str
    code: CodeType | None
    error: BaseException | None


@final
class InputAssembler:
    """Collects lines into complete inputs and compiles them, numbering inputs from 0.

    Each compiled input's source is registered with `linecache` under its filename, so tracebacks
    through code defined at the console show its lines.
    """

    __slots__ = ("_compiler", "_lines", "count")

    def __init__(self) -> None:
        self._compiler = codeop.CommandCompiler()
        # The compiler keeps its flags across calls (that is how it remembers `__future__` imports).
        self._compiler.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        self._lines: list[str] = []
        self.count: int = 0
        """How many inputs were submitted; the number of the next one."""

    @property
    def continuing(self) -> bool:
        """Whether lines of an unfinished input are waiting for more."""
        return bool(self._lines)

    def discard(self) -> None:
        """Forget the lines of the unfinished input (after Ctrl-C at a continuation prompt)."""
        self._lines.clear()

    def feed(self, text: str) -> list[Submission]:
        """Add entered text (one line, or several from a paste) and return the inputs it completes.

        Args:
            text: The text, without its final newline.

        Returns:
            The inputs completed by the text, in order; often none or one.
        """
        completed: list[Submission] = []
        for line in text.split("\n"):
            self._feed_line(line.rstrip("\r"), completed)
        return completed

    def finish(self) -> list[Submission]:
        """End the input at end of file: an unfinished block runs, anything else unfinished fails.

        Returns:
            The inputs completed by the end of the input, none or one.
        """
        completed: list[Submission] = []
        if not self._lines:
            return completed
        self._feed_line("", completed)
        if self._lines:
            source = "\n".join(self._lines)
            self._lines.clear()
            filename = self._next_filename()
            flags = self._compiler.compiler.flags & ~_PROBING_FLAGS
            code: CodeType | None = None
            error: BaseException | None = None
            try:
                code = compile(source + "\n", filename, "single", flags, True)
            except COMPILE_ERRORS as caught:
                error = caught
            completed.append(self._submit(source, filename, code, error))
        return completed

    def _next_filename(self) -> str:
        return f"<In [{self.count}]>"

    def _submit(self, source: str, filename: str, code: CodeType | None, error: BaseException | None) -> Submission:
        if error is not None:
            error.__traceback__ = None  # only the compiler's frames: the message says it all
        submission = Submission(self.count, filename, source, code, error)
        self.count += 1
        lines = [line + "\n" for line in source.split("\n")]
        linecache.cache[filename] = (len(source), None, lines, filename)
        return submission

    def _compile(self, lines: list[str], filename: str) -> CodeType | None:
        """Compile the lines; `None` if they need more. Raises what `compile` raises."""
        return self._compiler("\n".join(lines), filename, "single")

    def _feed_line(self, line: str, completed: list[Submission]) -> None:
        previous = self._lines
        if not previous and not line.strip():
            return  # an empty line at the main prompt is no input
        lines = [*previous, line]
        filename = self._next_filename()
        error: BaseException | None = None
        try:
            code = self._compile(lines, filename)
        except COMPILE_ERRORS as caught:
            code, error = None, caught
        if error is not None:
            # Out of the `except` block, so a later error does not chain this one as its context.
            if previous and line[:1] not in ("", " ", "\t") and self._end_block(completed):
                self._feed_line(line, completed)
                return
            self._lines = []
            completed.append(self._submit("\n".join(lines), filename, None, error))
            return
        if code is None:
            self._lines = lines
            return
        self._lines = []
        completed.append(self._submit("\n".join(lines), filename, code, None))

    def _end_block(self, completed: list[Submission]) -> bool:
        """Submit the collected lines if an empty line would complete them; return whether it did."""
        lines = self._lines
        filename = self._next_filename()
        try:
            code = self._compile([*lines, ""], filename)
        except COMPILE_ERRORS:
            return False
        if code is None:
            return False
        self._lines = []
        completed.append(self._submit("\n".join(lines), filename, code, None))
        return True
