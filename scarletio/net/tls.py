"""`SSLTransport`: TLS over any stream transport, with memory BIOs (high level, net).

The TLS layer is a protocol *and* a transport. Toward the socket transport below it is an ordinary
`StreamProtocol`: it receives ciphertext in `data_received` and writes ciphertext with `write`. Toward
the user's protocol above it is a `StreamTransport`: it delivers plaintext and encrypts what the
protocol writes. OpenSSL never touches the socket: ciphertext goes through two `ssl.MemoryBIO`s
(`SSLContext.wrap_bio`), so TLS works the same on every backend and the socket transport's hot path
does not change.

Life cycle:

- the handshake starts when the socket transport calls `connection_made`, and is driven by incoming
  data; the user's protocol gets `connection_made` only once it has completed. The function that
  opened the connection waits for that (`handshake_done`) and raises the handshake's error
  (`ssl.SSLCertVerificationError`, ...), which then never reaches the user's protocol;
- `close()` sends a close_notify alert, keeps reading until the peer's close_notify (or EOF, or
  `SHUTDOWN_TIMEOUT`), then closes the socket; the user's protocol sees `connection_lost(None)`;
- a close_notify from the peer is EOF: the user's protocol gets `eof_received()`, then the connection
  closes whatever it answers (the peer drops what would follow). TLS cannot shut down one direction
  of the socket, so `can_write_eof()` is False and `write_eof()` closes.

Flow control: the user's protocol is paused while the socket transport is, and also while the
plaintext held back during a TLS 1.2 renegotiation (OpenSSL refuses application data until it ends)
is above the socket transport's high water mark; otherwise a peer that renegotiates and then stalls
would make `drain()` let the writer buffer without bound.
"""

from __future__ import annotations

import ssl
from collections import deque
from collections.abc import Iterable
from typing import cast, final

from ..core.reporting import report_error
from ..core.abc import EventLoop
from ..core.futures import Future
from ..core.handles import TimerHandle
from ._flow import RECEIVE_BUFFER_SIZE, receive_buffer, size_of
from .interfaces import BytesLike, StreamProtocol, StreamTransport

__all__ = ("HANDSHAKE_TIMEOUT", "SHUTDOWN_TIMEOUT", "SSLTransport")

HANDSHAKE_TIMEOUT = 60.0
"""Seconds the TLS handshake may take before the connection is aborted."""

SHUTDOWN_TIMEOUT = 30.0
"""Seconds `close()` waits for the peer's close_notify before it closes the socket anyway."""

# The states of a TLS connection.
_HANDSHAKING = 0
_OPEN = 1
_SHUTTING_DOWN = 2  # our close_notify is sent; waiting for the peer's
_CLOSED = 3  # the socket transport is closing or gone

_EMPTY = b""


@final
class SSLTransport(StreamTransport, StreamProtocol):
    """A TLS connection over a stream transport: a `StreamTransport` to its protocol.

    Built by the connection and server functions when they get an `ssl_context`; use the
    `StreamTransport` interface. Besides the extra information of the socket transport,
    `get_extra_info` answers `'ssl_object'`, `'peercert'`, `'cipher'`, `'compression'` and
    `'sslcontext'`.

    Args:
        loop: The loop; the transport is used from its thread only.
        context: The TLS settings.
        protocol: The user's protocol, connected once the handshake completes.
        server_side: Whether this end is the server of the handshake.
        server_host_name: The name the server's certificate must match (client side).
    """

    __slots__ = (
        "_at_eof",
        "_context",
        "_handshake_done",
        "_incoming",
        "_lost",
        "_loop",
        "_made",
        "_outgoing",
        "_pending",
        "_pending_paused",
        "_pending_size",
        "_protocol",
        "_protocol_paused",
        "_reading",
        "_resume_scheduled",
        "_socket_paused",
        "_ssl",
        "_state",
        "_timer",
        "_transport",
    )

    def __init__(
        self,
        loop: EventLoop,
        context: ssl.SSLContext,
        protocol: StreamProtocol,
        *,
        server_side: bool,
        server_host_name: str | None = None,
    ) -> None:
        self._loop = loop
        self._context = context
        self._protocol = protocol
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._ssl = context.wrap_bio(
            self._incoming, self._outgoing, server_side=server_side, server_hostname=server_host_name
        )
        self._transport: StreamTransport | None = None
        self._state = _HANDSHAKING
        self._made = False  # the user's protocol got connection_made
        self._lost = False  # the user's protocol got (or will not get) connection_lost
        self._reading = True
        self._resume_scheduled = False
        self._pending: deque[bytes] = deque()  # plaintext OpenSSL could not take yet (renegotiation)
        self._pending_size = 0
        self._socket_paused = False  # the socket transport asked to pause writing
        self._pending_paused = False  # `_pending` went above the high water mark and not yet down to the low one
        self._protocol_paused = False  # what the user's protocol was told last
        self._timer: TimerHandle | None = None
        self._at_eof = False  # the protocol got eof_received
        self._handshake_done: Future[None] = Future(loop)
        self._handshake_done.silence()  # the opener raises its error; a server has nobody to tell

    @property
    def handshake_done(self) -> Future[None]:
        """Resolves once the user's protocol got `connection_made`; fails with the handshake's error."""
        return self._handshake_done

    # ---- the protocol side: called by the socket transport ------------------------------------

    def connection_made(self, transport: StreamTransport, /) -> None:
        """Start the handshake over `transport` (the socket transport)."""
        self._transport = transport
        self._timer = self._loop.call_after(HANDSHAKE_TIMEOUT, self._timed_out, "handshake")
        self._do_handshake()

    def data_received(self, data: bytes, /) -> None:
        """Feed ciphertext to OpenSSL and deliver what it decrypts."""
        self._incoming.write(data)
        state = self._state
        if state == _OPEN:
            self._receive()
        elif state == _HANDSHAKING:
            self._do_handshake()
        elif state == _SHUTTING_DOWN:
            self._continue_shutdown()

    def eof_received(self) -> bool | None:
        """The peer closed the socket's sending side (without or after close_notify)."""
        state = self._state
        if state == _HANDSHAKING:
            self._fail_handshake(ConnectionResetError("the peer closed the connection during the TLS handshake"))
            return None
        if state != _OPEN:
            return None  # shutting down: no close_notify will come any more; let the socket close
        # A TCP EOF without close_notify: the stream may be truncated (many peers just close the
        # socket), but it ended; deliver what was decrypted, then EOF.
        self._receive()
        if self._state == _OPEN:
            self._deliver_eof()
        return None

    def connection_lost(self, exception: Exception | None, /) -> None:
        """The socket transport is gone: tell the user's protocol (or the waiting opener)."""
        self._state = _CLOSED
        self._cancel_timer()
        if not self._handshake_done.is_done():
            self._handshake_done.set_exception_if_pending(
                exception or ConnectionResetError("the connection was closed during the TLS handshake")
            )
        if self._made and not self._lost:
            self._lost = True
            try:
                self._protocol.connection_lost(exception)
            except Exception as error:
                report_error(f"exception in {type(self._protocol).__name__}.connection_lost", error)

    def pause_writing(self) -> None:
        """The socket transport's buffer is full: pass it on."""
        self._socket_paused = True
        self._update_writing()

    def resume_writing(self) -> None:
        """The socket transport's buffer drained: pass it on, unless held-back plaintext still fills ours."""
        self._socket_paused = False
        self._update_writing()

    def _update_writing(self) -> None:
        """Pause or resume the user's protocol after the socket transport's state or `_pending` changed."""
        transport = self._transport
        if transport is not None:
            low, high = transport.get_write_buffer_limits()
            if self._pending_size > high:
                self._pending_paused = True
            elif self._pending_size <= low:
                self._pending_paused = False
        paused = self._socket_paused or self._pending_paused
        if paused == self._protocol_paused or not self._made or self._lost:
            return
        self._protocol_paused = paused
        if paused:
            self._protocol.pause_writing()
        else:
            self._protocol.resume_writing()

    # ---- handshake ------------------------------------------------------------------------------

    def _do_handshake(self) -> None:
        try:
            self._ssl.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return
        except (ssl.SSLError, OSError) as error:
            self._fail_handshake(error)
            return
        self._flush()
        self._cancel_timer()
        self._state = _OPEN
        self._made = True
        try:
            self._protocol.connection_made(self)
        except Exception as error:
            self._made = False
            if self._ssl.server_side:  # a server has no opener to raise it
                report_error(
                    f"exception in {type(self._protocol).__name__}.connection_made; the connection is closed", error
                )
            self._handshake_done.set_exception_if_pending(error)
            self._abort_transport()
            return
        self._handshake_done.set_result_if_pending(None)
        if self._state == _OPEN:
            self._receive()  # application data that came with the end of the handshake

    def _fail_handshake(self, error: Exception) -> None:
        self._state = _CLOSED
        self._cancel_timer()
        self._handshake_done.set_exception_if_pending(error)
        self._flush()  # the alert that tells the peer why
        transport = self._transport
        if transport is not None:
            transport.close()

    # ---- reading --------------------------------------------------------------------------------

    def _receive(self) -> None:
        """Decrypt and deliver what OpenSSL has, while the protocol reads; handle close_notify."""
        view = receive_buffer()
        read = self._ssl.read
        while self._reading and self._state == _OPEN:
            filled = 0
            eof = False
            try:
                # Fill the buffer with as many records as are there: one call per record.
                while filled < RECEIVE_BUFFER_SIZE:
                    # With a buffer, `read` returns the count (typeshed says bytes).
                    count = cast(int, read(RECEIVE_BUFFER_SIZE - filled, view[filled:]))
                    if not count:
                        eof = True
                        break
                    filled += count
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                eof = True
            except (ssl.SSLError, OSError) as error:
                self._flush()
                self._fail(error)
                return
            if filled:
                try:
                    self._protocol.data_received(view[:filled].tobytes())
                except Exception as error:
                    self._protocol_failed(error, "data_received")
                    return
            if eof:
                self._flush()
                if self._state == _OPEN:
                    self._deliver_eof()
                return
            if filled < RECEIVE_BUFFER_SIZE:
                break  # OpenSSL needs more ciphertext
        self._flush()  # TLS 1.3 answers some records (key updates), and renegotiation wants output
        if self._pending:
            self._write_pending()

    def _deliver_eof(self) -> None:
        self._at_eof = True
        self._reading = False
        if self._transport is not None:
            self._transport.pause_reading()
        try:
            self._protocol.eof_received()
        except Exception as error:
            self._protocol_failed(error, "eof_received")
            return
        # Closed even when the protocol asks to keep the transport open: TLS has no half-close here,
        # and a peer that sent close_notify drops whatever follows, so later writes would vanish
        # without an error. Closing ends them with `connection_lost`, which `drain()` raises.
        self.close()

    def pause_reading(self) -> None:
        """Stop delivering data until `resume_reading`; the peer is held back by TCP flow control."""
        if self._reading and self._state == _OPEN:
            self._reading = False
            if self._transport is not None:
                self._transport.pause_reading()

    def resume_reading(self) -> None:
        """Deliver data again after `pause_reading`, first what OpenSSL already decrypted."""
        if not self._reading and self._state == _OPEN and not self._at_eof:
            self._reading = True
            if self._transport is not None:
                self._transport.resume_reading()
            if not self._resume_scheduled:
                self._resume_scheduled = True
                self._loop.call_soon(self._resume_receiving)

    def _resume_receiving(self) -> None:
        self._resume_scheduled = False
        if self._reading and self._state == _OPEN:
            self._receive()

    def is_reading(self) -> bool:
        """Return whether data is being delivered (not paused, not closing)."""
        return self._reading and self._state == _OPEN

    # ---- writing --------------------------------------------------------------------------------

    def write(self, data: BytesLike) -> None:
        """Encrypt and send `data`; never blocks. Writes after `close` or `abort` are dropped.

        Args:
            data: The bytes to send.
        """
        if self._state != _OPEN or not size_of(data):
            return
        if self._pending:
            self._queue(data)
            self._update_writing()
            return
        try:
            self._encrypt(data)
        except ssl.SSLWantReadError:
            self._update_writing()  # `_encrypt` queued the rest: OpenSSL waits for the peer (renegotiation)
            return
        except (ssl.SSLError, OSError) as error:
            self._fail(error)
            return
        self._flush()

    def writelines(self, chunks: Iterable[BytesLike]) -> None:
        """Encrypt and send every chunk in order, joined into as few TLS records as possible.

        Args:
            chunks: The byte chunks.
        """
        self.write(_EMPTY.join(chunks))

    def _encrypt(self, data: BytesLike) -> None:
        view = memoryview(data).cast("B")
        sent = 0
        size = len(view)
        try:
            while sent < size:
                sent += self._ssl.write(view[sent:])
        except ssl.SSLWantReadError:
            self._queue(view[sent:])
            raise

    def _queue(self, data: BytesLike) -> None:
        chunk = bytes(data)
        self._pending.append(chunk)
        self._pending_size += len(chunk)

    def _write_pending(self) -> None:
        pending = self._pending
        while pending and self._state == _OPEN:
            chunk = pending.popleft()
            self._pending_size -= len(chunk)
            try:
                self._encrypt(chunk)
            except ssl.SSLWantReadError:
                pending.rotate(1)  # `_encrypt` appended the rest; it goes first
                break
            except (ssl.SSLError, OSError) as error:
                self._fail(error)
                return
        self._flush()
        self._update_writing()

    def _flush(self) -> None:
        """Hand the ciphertext OpenSSL produced to the socket transport."""
        if self._outgoing.pending:
            data = self._outgoing.read()
            transport = self._transport
            if transport is not None and not transport.is_closing():
                transport.write(data)

    def write_eof(self) -> None:
        """Close the connection (`close`): TLS cannot shut down the sending side alone."""
        self.close()

    def can_write_eof(self) -> bool:
        """Return False: TLS has no half-close."""
        return False

    def get_write_buffer_size(self) -> int:
        """Return the bytes waiting to be sent: ciphertext in the socket transport, plaintext here."""
        transport = self._transport
        queued = transport.get_write_buffer_size() if transport is not None else 0
        return queued + self._pending_size

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """Return the `(low, high)` water marks of the socket transport, in bytes."""
        transport = self._transport
        if transport is None:
            raise RuntimeError("the TLS transport has no socket transport yet")
        return transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the water marks that drive `pause_writing` / `resume_writing` (see `WriteTransport`)."""
        transport = self._transport
        if transport is None:
            raise RuntimeError("the TLS transport has no socket transport yet")
        transport.set_write_buffer_limits(high, low)

    # ---- closing --------------------------------------------------------------------------------

    def get_extra_info(self, name: str, default: object = None) -> object:
        """Return TLS information (`'ssl_object'`, `'peercert'`, `'cipher'`, `'compression'`,
        `'sslcontext'`) or the socket transport's (`'socket'`, `'peername'`, `'sockname'`).

        Args:
            name: The name of the information.
            default: What to return when there is no such information.
        """
        ssl_object = self._ssl
        if name == "ssl_object":
            return ssl_object
        if name == "sslcontext":
            return self._context
        if name == "peercert":
            return ssl_object.getpeercert() if self._state != _HANDSHAKING else default
        if name == "cipher":
            return ssl_object.cipher()
        if name == "compression":
            return ssl_object.compression()
        transport = self._transport
        return default if transport is None else transport.get_extra_info(name, default)

    def is_closing(self) -> bool:
        """Return whether `close` or `abort` was called, or the connection was lost or is failing.

        The socket transport below counts too: once a write to it failed it is closing, and the
        `connection_lost` it queued has not reached this layer yet.
        """
        if self._state != _OPEN:
            return True
        transport = self._transport
        return transport is not None and transport.is_closing()

    def close(self) -> None:
        """Stop reading, send close_notify, wait for the peer's, then close the socket.

        The protocol sees `connection_lost(None)`. A peer that does not answer within
        `SHUTDOWN_TIMEOUT` seconds is cut off.
        """
        state = self._state
        if state == _HANDSHAKING:
            self._fail_handshake(ConnectionAbortedError("the TLS connection was closed during the handshake"))
            return
        if state != _OPEN:
            return
        self._state = _SHUTTING_DOWN
        self._reading = False
        self._pending.clear()
        self._pending_size = 0
        transport = self._transport
        if transport is not None:
            transport.resume_reading()  # the peer's close_notify must get through
        self._timer = self._loop.call_after(SHUTDOWN_TIMEOUT, self._timed_out, "shutdown")
        self._continue_shutdown()

    def _continue_shutdown(self) -> None:
        ssl_object = self._ssl
        view = receive_buffer()
        try:
            # Application data the peer sent before its close_notify is dropped: reading has stopped.
            while True:
                if not ssl_object.read(RECEIVE_BUFFER_SIZE, view):
                    break
        except ssl.SSLWantReadError:
            self._flush()
            try:
                ssl_object.unwrap()  # sends close_notify (once); completes if the peer's came
            except ssl.SSLWantReadError:
                self._flush()
                return
            except (ssl.SSLError, OSError):
                pass
        except ssl.SSLZeroReturnError:
            try:
                ssl_object.unwrap()
            except (ssl.SSLError, OSError):
                pass
        except (ssl.SSLError, OSError):
            pass
        self._finish_shutdown()

    def _finish_shutdown(self) -> None:
        self._state = _CLOSED
        self._cancel_timer()
        self._flush()
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        """Close at once, without close_notify; the protocol sees `connection_lost(None)`."""
        self._state = _CLOSED
        self._cancel_timer()
        self._handshake_done.set_exception_if_pending(ConnectionAbortedError("the TLS connection was aborted"))
        self._abort_transport()

    def _abort_transport(self) -> None:
        self._state = _CLOSED
        self._cancel_timer()
        if self._transport is not None:
            self._transport.abort()

    def _fail(self, error: Exception) -> None:
        """End the connection at once after a TLS error; the protocol sees it in `connection_lost`."""
        self._state = _CLOSED
        self._cancel_timer()
        transport = self._transport
        if transport is None:
            return
        if self._made and not self._lost:
            self._lost = True
            transport.abort()
            self._loop.call_soon(self._lose, error)
        else:
            transport.abort()

    def _lose(self, error: Exception) -> None:
        try:
            self._protocol.connection_lost(error)
        except Exception as failure:
            report_error(f"exception in {type(self._protocol).__name__}.connection_lost", failure)

    def _protocol_failed(self, error: Exception, callback: str) -> None:
        report_error(f"exception in {type(self._protocol).__name__}.{callback}; the connection is aborted", error)
        self._fail(error)

    def _timed_out(self, stage: str) -> None:
        self._timer = None
        if stage == "handshake":
            self._handshake_done.set_exception_if_pending(
                TimeoutError(f"the TLS handshake did not complete within {HANDSHAKE_TIMEOUT} seconds")
            )
        self._abort_transport()

    def _cancel_timer(self) -> None:
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()

    def __repr__(self) -> str:
        state = ("handshaking", "open", "shutting down", "closed")[self._state]
        return f"<{type(self).__name__} {state} over {self._transport!r}>"
