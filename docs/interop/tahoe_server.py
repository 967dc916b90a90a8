# Runs Tahoe-LAFS's own HTTP storage server (allmydata.storage.http_server
# over allmydata.storage.server.StorageServer) on 127.0.0.1 and prints its
# NURL, so our Go client can be pointed at it. Usage: python3 this.py DIR
import os, sys, types
exec(open(os.path.join(os.path.dirname(__file__), "shims.py")).read())  # Debian-version shims, see docs/interop.md
from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.python.filepath import FilePath
from allmydata.storage.server import StorageServer
from allmydata.storage.http_server import HTTPServer, listen_tls
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
import datetime

d = sys.argv[1]
os.makedirs(d, exist_ok=True)
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "newpb_thingy")])
now = datetime.datetime.utcnow()
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256()))
open(os.path.join(d, "key.pem"), "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
open(os.path.join(d, "cert.pem"), "wb").write(cert.public_bytes(serialization.Encoding.PEM))
ss = StorageServer(os.path.join(d, "storage"), b"\x01" * 20)
server = HTTPServer(reactor, ss, b"tahoeswissnum")
def ready(res):
    nurl, port = res
    print("NURL", nurl.to_text(), flush=True)
listen_tls(server, "127.0.0.1", serverFromString(reactor, "tcp:0:interface=127.0.0.1"),
           FilePath(os.path.join(d, "key.pem")), FilePath(os.path.join(d, "cert.pem"))).addCallback(ready)
reactor.run()
