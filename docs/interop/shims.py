# Shims that let Tahoe-LAFS master run on Debian bookworm's older Twisted, eliot and pyOpenSSL.
# Only for the interoperability check in docs/interop.md; exec'd by the two drivers.
# Debian's Twisted 22.4 loses contextvars across awaits, which breaks
# eliot's action contexts (Tahoe needs Twisted >= 22.8). Eliot only logs,
# so the harness replaces start_action with a no-op before Tahoe imports it.
import eliot
class _NoAction:
    def __init__(self, *a, **k): pass
    def __enter__(self): return self
    def __exit__(self, *a): return False
    def __getattr__(self, name): return lambda *a, **k: self
eliot.start_action = _NoAction
import eliot.twisted
class _PlainDeferredContext:
    def __init__(self, d): self.result = d
    def addCallbacks(self, *a, **k): self.result.addCallbacks(*a, **k); return self
    def addCallback(self, *a, **k): self.result.addCallback(*a, **k); return self
    def addErrback(self, *a, **k): self.result.addErrback(*a, **k); return self
    def addBoth(self, *a, **k): self.result.addBoth(*a, **k); return self
    def addActionFinish(self): return self.result
eliot.twisted.DeferredContext = _PlainDeferredContext
# Debian's pyOpenSSL 23.0 predates SSL.X509VerificationCodes (Tahoe needs
# >= 23.2); these are OpenSSL's standard X509_V_* numbers.
import types
from OpenSSL import SSL
if not hasattr(SSL, "X509VerificationCodes"):
    SSL.X509VerificationCodes = types.SimpleNamespace(OK=0, ERR_CERT_NOT_YET_VALID=9,
        ERR_CERT_HAS_EXPIRED=10, ERR_DEPTH_ZERO_SELF_SIGNED_CERT=18, ERR_SELF_SIGNED_CERT_IN_CHAIN=19)
