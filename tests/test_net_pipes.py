"""Pipe transports: `connect_read_pipe` / `connect_write_pipe` over `os.pipe()`.

Every test runs on the epoll and the poll backend.
"""

from __future__ import annotations

import os
import tempfile
from typing import BinaryIO

import pytest
from _fixtures import loop, run  # noqa: F401 - fixtures are used by name

from scarletio import EventThread
from scarletio.core.futures import Future
from scarletio.net import (
    ReadProtocolBase,
    WritePipeProtocol,
    WriteTransport,
    connect_read_pipe,
    connect_write_pipe,
)
from scarletio.core.suspension import sleep


class Writer(WritePipeProtocol):
    def __init__(self, loop: EventThread) -> None:
        self.lost: Future[Exception | None] = loop.create_future()
        self.events: list[str] = []

    def connection_made(self, transport: WriteTransport, /) -> None:
        self.events.append("made")

    def connection_lost(self, exception: Exception | None, /) -> None:
        self.events.append("lost")
        self.lost.set_result(exception)

    def pause_writing(self) -> None:
        self.events.append("pause")

    def resume_writing(self) -> None:
        self.events.append("resume")


def pipe_files() -> tuple[BinaryIO, BinaryIO]:
    read_fd, write_fd = os.pipe()
    return open(read_fd, "rb", buffering=0), open(write_fd, "wb", buffering=0)


def test_data_written_to_a_pipe_is_read_until_eof(loop: EventThread) -> None:
    reading, writing = pipe_files()
    payload = bytes(range(256)) * 4096  # 1 MiB: more than a pipe holds, so the writer queues

    async def main() -> tuple[bytes, list[str], bool]:
        reader = ReadProtocolBase(loop)
        read_transport = await connect_read_pipe(loop, reader, reading)
        writer = Writer(loop)
        write_transport = await connect_write_pipe(loop, writer, writing)
        write_transport.write(payload)
        queued = write_transport.get_write_buffer_size() > 0
        write_transport.write_eof()
        data = await reader.read()
        await writer.lost
        await sleep(0.001)
        assert read_transport.is_closing()
        return data, writer.events, queued

    data, events, queued = run(loop, main())
    assert data == payload
    assert queued
    assert events == ["made", "pause", "resume", "lost"]
    assert reading.closed and writing.closed


def test_write_pipe_notices_the_reader_going_away(loop: EventThread) -> None:
    reading, writing = pipe_files()

    async def main() -> Exception | None:
        writer = Writer(loop)
        await connect_write_pipe(loop, writer, writing)
        reading.close()
        return await writer.lost

    assert run(loop, main()) is None  # nothing was buffered, so it is a plain close
    assert writing.closed


def test_write_pipe_with_buffered_data_loses_the_reader_with_broken_pipe(loop: EventThread) -> None:
    reading, writing = pipe_files()

    async def main() -> Exception | None:
        writer = Writer(loop)
        transport = await connect_write_pipe(loop, writer, writing)
        transport.write(b"x" * (1 << 20))
        reading.close()
        return await writer.lost

    assert isinstance(run(loop, main()), BrokenPipeError)


def test_pause_reading_on_a_read_pipe(loop: EventThread) -> None:
    reading, writing = pipe_files()

    async def main() -> tuple[int, bytes]:
        reader = ReadProtocolBase(loop)
        transport = await connect_read_pipe(loop, reader, reading)
        transport.pause_reading()
        writing.write(b"held")
        await sleep(0.01)
        held = reader.get_size()
        transport.resume_reading()
        data = await reader.read_exactly(4)
        transport.close()
        return held, data

    try:
        assert run(loop, main()) == (0, b"held")
    finally:
        writing.close()
    assert reading.closed


def test_a_regular_file_is_refused(loop: EventThread) -> None:
    with tempfile.TemporaryFile() as file:
        with pytest.raises(ValueError, match=r"^pipe transports need a pipe, a socket or a character device, got "):
            run(loop, connect_read_pipe(loop, ReadProtocolBase(loop), file))
