"""The Tahoe-LAFS side of an invite, for node/invite's interop test.

Speaks the exchange of Tahoe's docs/magic-wormhole-invites.rst over Debian's
magic-wormhole Python library (the one Tahoe uses), against a mailbox server:

  tahoe_side.py RELAY_URL invite CONFIG_JSON   prints "code: CODE", then sends CONFIG_JSON
  tahoe_side.py RELAY_URL join CODE            prints the configuration it received

Exit status 0 on success, 1 with the reason on stderr otherwise.
"""
import json
import sys

from twisted.internet import defer, task
import wormhole

APPID = "tahoe-lafs.org/invite"


@defer.inlineCallbacks
def invite(reactor, relay, config):
    wh = wormhole.create(APPID, relay, reactor)
    wh.allocate_code()
    code = yield wh.get_code()
    print("code: " + code, flush=True)
    wh.send_message(json.dumps({"abilities": {"server-v1": {}}}).encode())
    theirs = json.loads((yield wh.get_message()))
    if "client-v1" not in theirs.get("abilities", {}):
        raise RuntimeError("no client-v1 in the joiner's abilities")
    wh.send_message(config.encode())
    yield wh.close()


@defer.inlineCallbacks
def join(reactor, relay, code):
    wh = wormhole.create(APPID, relay, reactor)
    wh.set_code(code)
    wh.send_message(json.dumps({"abilities": {"client-v1": {}}}).encode())
    theirs = json.loads((yield wh.get_message()))
    if "server-v1" not in theirs.get("abilities", {}):
        raise RuntimeError("no server-v1 in the inviter's abilities")
    config = json.loads((yield wh.get_message()))
    print(json.dumps(config, sort_keys=True), flush=True)
    yield wh.close()


def main(reactor, relay, mode, arg):
    return {"invite": invite, "join": join}[mode](reactor, relay, arg)


if __name__ == "__main__":
    try:
        task.react(main, sys.argv[1:4])
    except SystemExit as e:
        sys.exit(e.code)
