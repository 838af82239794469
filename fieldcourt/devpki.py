"""A development certificate authority and broker certificate, made with the machine's openssl.

DEVELOPMENT ONLY: the CA's private key lies next to the certificates it signs, in the data
folder. A production broker gets its certificate from the office's own PKI.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fieldcourt.kafka_auth import BROKER
from streams.errors import FieldcourtError

#: In every subject, so that nobody mistakes these certificates for real ones.
ORGANISATION = "fieldcourt development only - not for production"
#: The broker certificate's common name: its principal on the mutual-TLS controller listener.
BROKER_CN = BROKER
#: Where the broker is reached: the local broker, and the broker service of docker-compose.yml.
BROKER_HOSTS = ("IP:127.0.0.1", "DNS:localhost", "DNS:kafka")
VALID_DAYS = 825
CURVE = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


class PkiError(FieldcourtError):
    """openssl is missing or failed; the message carries its output."""


@dataclass(frozen=True)
class TlsFiles:
    directory: Path

    @property
    def ca(self) -> Path:
        """The CA certificate: the trust store of clients and of the broker."""
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def keystore(self) -> Path:
        """The broker's private key, certificate and CA in one PEM file (Kafka's PEM store)."""
        return self.directory / "broker-keystore.pem"

    @property
    def certificate(self) -> Path:
        return self.directory / "broker.pem"


def _openssl(*args: str, cwd: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise PkiError(
            "openssl is needed to make the development certificates (apt install openssl)"
        )
    result = subprocess.run(  # noqa: S603
        [openssl, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise PkiError(f"openssl {args[0]} failed:\n{result.stdout}{result.stderr}")


def ensure_dev_tls(directory: Path) -> TlsFiles:
    """The development CA and broker keystore in ``directory``, made once (delete the
    directory to make new ones)."""
    files = TlsFiles(directory)
    if files.ca.exists() and files.keystore.exists():
        return files
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        work = Path(tmp)
        days = ["-days", str(VALID_DAYS)]
        ca_extensions = "basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"
        _openssl(
            *["req", "-x509", "-keyout", "ca.key", "-out", "ca.pem"],
            *CURVE,
            *days,
            *("-subj", f"/O={ORGANISATION}/CN=fieldcourt development CA"),
            *(arg for ext in ca_extensions for arg in ("-addext", ext)),
            cwd=work,
        )
        _openssl(
            *["req", "-new", "-keyout", "broker.key", "-out", "broker.csr"],
            *CURVE,
            *("-subj", f"/O={ORGANISATION}/CN={BROKER_CN}"),
            cwd=work,
        )
        (work / "broker.ext").write_text(
            f"subjectAltName={','.join(BROKER_HOSTS)}\n"
            "extendedKeyUsage=serverAuth,clientAuth\n"
            "keyUsage=critical,digitalSignature,keyAgreement\n"
        )
        sign = "x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out broker.pem"
        _openssl(*sign.split(), *days, "-extfile", "broker.ext", cwd=work)
        key, cert, ca = (
            (work / name).read_text() for name in ("broker.key", "broker.pem", "ca.pem")
        )
        (work / "broker-keystore.pem").write_text(key + cert + ca)
        for name in ("ca.key", "broker-keystore.pem"):
            (work / name).chmod(0o600)
        # the CA certificate last: its presence says the set is complete
        for name in ("ca.key", "broker.pem", "broker-keystore.pem", "ca.pem"):
            (work / name).replace(directory / name)
    return files
