# Drives Tahoe-LAFS's own HTTP storage client (allmydata.storage.http_client)
# against a LAFS Sync storage node. Usage: python3 this.py NURL
import os, sys
exec(open(os.path.join(os.path.dirname(__file__), "shims.py")).read())  # Debian-version shims, see docs/interop.md
from hyperlink import DecodedURL
from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from allmydata.storage.http_client import (
    StorageClientFactory, StorageClientGeneral, StorageClientImmutables, StorageClientMutables,
    TestWriteVectors, WriteVector, TestVector, ReadVector)

async def main(nurl):
    f = StorageClientFactory({"tcp": "tcp"}, None)
    client = await f.create_storage_client(DecodedURL.from_text(nurl), reactor)
    gen = StorageClientGeneral(client)
    v = await gen.get_version()
    print("version:", {k: v[k] for k in v})
    imm = StorageClientImmutables(client)
    si = os.urandom(16)
    up, rn, cn = os.urandom(32), os.urandom(32), os.urandom(32)
    res = await imm.create(si, {0, 1, 2}, 100, up, rn, cn)
    print("create:", res)
    data = bytes(range(100))
    p1 = await imm.write_share_chunk(si, 1, up, 0, data[:60])
    print("write 0-59:", p1)
    p2 = await imm.write_share_chunk(si, 1, up, 60, data[60:])
    print("write 60-99:", p2)
    shares = await imm.list_shares(si)
    print("list:", shares)
    got = await imm.read_share_chunk(si, 1, 10, 20)
    assert got == data[10:30], got
    print("read 10+20: ok")
    await imm.abort_upload(si, 2, up)
    print("abort share 2: ok")
    await gen.add_or_renew_lease(si, rn, cn)
    print("lease: ok")
    await imm.advise_corrupt_share(si, 1, "interop test")
    print("advise corrupt: ok")
    mut = StorageClientMutables(client)
    msi, we = os.urandom(16), os.urandom(32)
    r = await mut.read_test_write_chunks(msi, we, rn, cn,
        {0: TestWriteVectors(test_vectors=[TestVector(0, 1, b"")], write_vectors=[WriteVector(0, b"hello mutable")])},
        [ReadVector(0, 5)])
    print("mutable rtw create:", r)
    r = await mut.read_test_write_chunks(msi, we, rn, cn,
        {0: TestWriteVectors(test_vectors=[TestVector(0, 5, b"hello")], write_vectors=[WriteVector(6, b"MUTABLE")])},
        [ReadVector(0, 5)])
    print("mutable rtw update:", r)
    print("mutable list:", await mut.list_shares(msi))
    got = await mut.read_share_chunk(msi, 0, 0, 13)
    assert got == b"hello MUTABLE", got
    print("mutable read: ok")
    print("ALL OK")

exit_code = 1
def run():
    d = ensureDeferred(main(sys.argv[1]))
    def ok(_):
        global exit_code
        exit_code = 0
        reactor.stop()
    def fail(f):
        print("FAILED:", f.getTraceback())
        reactor.stop()
    d.addCallbacks(ok, fail)
reactor.callWhenRunning(run)
reactor.run()
sys.exit(exit_code)  # nonzero unless every step passed
