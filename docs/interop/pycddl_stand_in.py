# Stand-in for pycddl (a Rust extension that cannot be built here: no
# crates registry). It decodes like pycddl (tag 258 -> set) but does not
# validate against the CDDL schema; our Go tests check the wire format
# (tag 258, byte-string keys) byte for byte instead.
import cbor2

class ValidationError(Exception):
    pass

def _hook(decoder, tag, shareable_index=None):
    if tag.tag == 258:
        return set(tag.value)
    return tag

class Schema:
    def __init__(self, text):
        self.text = text
    def validate_cbor(self, data, turn_into_python=False):
        obj = cbor2.loads(data, tag_hook=_hook)
        return obj if turn_into_python else None
