#!/usr/bin/python3
"""Make a wixl-built .msi reproducible: wixl writes a random revision number
(the package code) and the current time into the MSI's SummaryInformation
stream. This rewrites them in place, same stream size, to the given package
code and to SOURCE_DATE_EPOCH.

usage: msi-normalize.py FILE.msi {PACKAGE-CODE-GUID}   (SOURCE_DATE_EPOCH in the environment)
Needs python3-olefile (Debian)."""
import os
import struct
import sys

import olefile

VT_LPSTR, VT_FILETIME = 30, 64
PID_REVNUMBER, PID_CREATE_DTM, PID_LASTSAVE_DTM, PID_LASTPRINTED = 9, 12, 13, 11


def main():
    path, code = sys.argv[1], sys.argv[2].upper()
    epoch = int(os.environ["SOURCE_DATE_EPOCH"])
    filetime = (epoch + 11644473600) * 10_000_000  # 100 ns since 1601
    ole = olefile.OleFileIO(path, write_mode=True)
    name = "\x05SummaryInformation"
    data = bytearray(ole.openstream(name).read())
    # Property set header: 28 bytes, then one (FMTID, offset) pair.
    (nsect,) = struct.unpack_from("<I", data, 24)
    if nsect != 1:
        sys.exit(f"msi-normalize: {path}: {nsect} property sections, expected 1")
    (sect,) = struct.unpack_from("<I", data, 44)
    _, count = struct.unpack_from("<II", data, sect)
    seen = set()
    for i in range(count):
        pid, off = struct.unpack_from("<II", data, sect + 8 + 8 * i)
        at = sect + off
        (vt,) = struct.unpack_from("<I", data, at)
        if pid == PID_REVNUMBER and vt == VT_LPSTR:
            (n,) = struct.unpack_from("<I", data, at + 4)
            new = code.encode("ascii") + b"\0"
            if len(new) != n:
                sys.exit(f"msi-normalize: {path}: revision number is {n} bytes, the new one {len(new)}")
            data[at + 8:at + 8 + n] = new
            seen.add(pid)
        elif pid in (PID_CREATE_DTM, PID_LASTSAVE_DTM, PID_LASTPRINTED) and vt == VT_FILETIME:
            struct.pack_into("<Q", data, at + 4, filetime)
            seen.add(pid)
    if not {PID_REVNUMBER, PID_CREATE_DTM, PID_LASTSAVE_DTM} <= seen:
        sys.exit(f"msi-normalize: {path}: SummaryInformation lacks a revision number or a time ({sorted(seen)})")
    ole.write_stream(name, bytes(data))
    ole.close()


if __name__ == "__main__":
    main()
