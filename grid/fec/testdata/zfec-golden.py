import zfec, hashlib, sys, json
# Deterministic input: piece j of case (k,n,size) is bytes (i*31 + j*7 + k + n) & 0xff.
out = []
for (k, n, size) in [(1,1,5),(1,3,7),(2,3,1),(2,4,64),(3,5,10),(3,10,1000),(4,9,33),(5,8,17),(10,20,100),(13,17,3),(25,100,50),(71,255,9),(100,255,4),(101,256,6),(50,256,12),(256,256,2),(1,256,3)]:
    pieces = [bytes(((i*31 + j*7 + k + n) & 0xff) for i in range(size)) for j in range(k)]
    enc = zfec.Encoder(k, n)
    blocks = enc.encode(pieces, list(range(k, n)))
    out.append({"k": k, "n": n, "size": size, "parity_sha256": hashlib.sha256(b"".join(blocks)).hexdigest(), "first_parity": blocks[0].hex() if blocks else ""})
json.dump(out, sys.stdout, indent=1)
