"""A worker's gRPC over mutual TLS: its certificate, and client certificates required from the
CA (HOTGIGS_GRPC_TLS_*), renewed without a restart.

The files are checked at start-up (readable PEM, the key belongs to the certificate, not
expired, a CA bundle): a problem stops the worker with a ConfigError naming the variable.
gRPC asks `ReloadingCredentials.fetch` before each new connection's handshake; when a file's
size, inode or modification time changed, the three are read and checked again and the new
certificate (and CA) serve from then on. A renewal caught half written (a new certificate,
the old key) is refused, logged, and the current certificate stays until the files agree.
Established connections keep the certificate they started with.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
from pathlib import Path

import grpc
import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from hotgigs.settings import GRPC_TLS_VARIABLES, ConfigError, TlsFiles

log = structlog.get_logger(__name__)

Stamp = tuple[tuple[int, int, int], ...]


class TlsFilesError(ValueError):
    """The files do not make a usable identity; the message names the variable, never a key."""


@dataclasses.dataclass(frozen=True)
class Identity:
    """The PEM bytes gRPC serves, as read at `stamp`, and what the log says about them."""

    stamp: Stamp
    chain: bytes = dataclasses.field(repr=False)
    key: bytes = dataclasses.field(repr=False)
    ca: bytes = dataclasses.field(repr=False)
    serial: int
    not_after: dt.datetime

    def configuration(self) -> grpc.ServerCertificateConfiguration:
        return grpc.ssl_server_certificate_configuration([(self.key, self.chain)],
                                                         root_certificates=self.ca)


def _paths(files: TlsFiles) -> tuple[Path, Path, Path]:
    return files.cert_file, files.key_file, files.ca_file


def stamp(files: TlsFiles) -> Stamp:
    """(inode, size, mtime) of each file; raises OSError when one is missing."""
    return tuple((info.st_ino, info.st_size, info.st_mtime_ns)
                 for info in (os.stat(path) for path in _paths(files)))


def load(files: TlsFiles, *, now: dt.datetime | None = None) -> Identity:
    """Read and check the three files (see the module's doc)."""
    cert_name, key_name, ca_name = GRPC_TLS_VARIABLES
    try:
        before = stamp(files)
        chain, key_pem, ca = (path.read_bytes() for path in _paths(files))
    except OSError as error:
        raise TlsFilesError(f"cannot read {error.filename}: {error.strerror}") from None
    try:
        leaf = x509.load_pem_x509_certificates(chain)[0]
    except ValueError:
        raise TlsFilesError(f"{cert_name}={files.cert_file}: not a PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise TlsFilesError(f"{key_name}={files.key_file}: not an unencrypted PEM private "
                            "key") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, public) != \
            leaf.public_key().public_bytes(serialization.Encoding.DER, public):
        raise TlsFilesError(f"{key_name}={files.key_file} is not the key of {cert_name}="
                            f"{files.cert_file}")
    try:
        x509.load_pem_x509_certificates(ca)
    except ValueError:
        raise TlsFilesError(f"{ca_name}={files.ca_file}: not a PEM CA certificate") from None
    moment = now or dt.datetime.now(dt.UTC)
    if leaf.not_valid_after_utc <= moment:
        raise TlsFilesError(f"{cert_name}={files.cert_file} expired on "
                            f"{leaf.not_valid_after_utc.isoformat(timespec='seconds')}")
    return Identity(before, chain, key_pem, ca, leaf.serial_number, leaf.not_valid_after_utc)


class ReloadingCredentials:
    """The server credentials of `files`, re-read when they change (see the module's doc)."""

    def __init__(self, files: TlsFiles) -> None:
        self.files = files
        try:
            self.current = load(files)
        except TlsFilesError as error:
            raise ConfigError(f"gRPC TLS: {error}") from None
        self._refused: Stamp | None = None
        self._lock = threading.Lock()

    def credentials(self) -> grpc.ServerCredentials:
        # grpc-stubs types the fetcher without its documented None (no change)
        return grpc.dynamic_ssl_server_credentials(self.current.configuration(),
                                                   self.fetch,  # type: ignore[arg-type]
                                                   require_client_authentication=True)

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """gRPC's certificate fetcher: a new configuration when the files changed, else None
        (keep the current one). Never raises: a failure keeps the current certificate."""
        try:
            seen = stamp(self.files)
        except OSError:
            return None  # in the middle of a replacement: the next connection looks again
        with self._lock:
            if seen in (self.current.stamp, self._refused):
                return None
            try:
                renewed = load(self.files)
            except TlsFilesError as error:
                self._refused = seen  # logged once per change of the files, not per connection
                log.error("grpc_tls_renewal_refused", error=str(error),
                          serving_serial=f"{self.current.serial:x}")
                return None
            self.current, self._refused = renewed, None
        log.info("grpc_tls_renewed", serial=f"{renewed.serial:x}",
                 not_after=renewed.not_after.isoformat(timespec="seconds"))
        return renewed.configuration()
