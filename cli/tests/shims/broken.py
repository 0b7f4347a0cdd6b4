#!/usr/bin/env python3
"""A deliberately broken shim for the bench's conformance tests of its shim host.

    python3 broken.py MODE

It behaves as the template's echo shim (shims/template/shim.py --echo) except for
the one fault MODE names:

    hang-hello      never answers the hello
    hang-encrypt    never answers the first encrypt
    crash           exits with status 3 (a traceback on stderr) at the 5th encrypt
    garbage         answers the first encrypt with a line that is not JSON
    wrong-id        answers the first encrypt with the next request's id
    oversized       answers the first encrypt with a line longer than 16 MiB
    lie-protocol    says protocol 2 in its hello
    lie-family      declares the unknown family "quantum"
    lie-limits      declares a peer without limits
    lie-declares    declares "olm" with properties that are not Olm's
    declare-other   declares the family "template-echo" with used keys kept: another
                    declaration of the name the template's --own-family declares
    stderr-noise    writes 5000 lines to stderr while working, then crashes at the 5th
                    encrypt (the bench must keep draining stderr and show only its tail)
    random-undeclared  asks for random bytes at the first encrypt without declaring host_rng
    random-wrong-id    declares host_rng, asks at the first encrypt with the next request's id
    random-too-much    declares host_rng, asks for 4097 bytes at the first encrypt
    random-over-total  declares host_rng, asks 17 times for 4096 bytes at the first encrypt
    random-export      declares host_rng, asks for 8 bytes while exporting
    fine            no fault

The random-* modes other than random-undeclared run the echo shim with host randomness
(`--echo --host-rng`), so their respond asks for its session id as it should.

Standard library only.
"""

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "shims", "template"))
import shim  # noqa: E402  (the template)


def ask(out, rid, n):
    """Writes an ask for n random bytes and reads the bench's answer (None if it stopped
    the shim instead)."""
    out.write(json.dumps({"id": rid, "random": n}).encode() + b"\n")
    out.flush()
    answer = sys.stdin.buffer.readline()
    return json.loads(answer) if answer else None


def main(mode):
    host_rng = mode.startswith("random-") and mode != "random-undeclared"
    base = shim.Shim([shim.Echo(host_rng)])
    encrypts = 0
    out = sys.stdout.buffer
    shim.random.stdin, shim.random.stdout = sys.stdin.buffer, out
    for line in sys.stdin.buffer:
        req = json.loads(line)
        op = req.get("op")
        if op == "encrypt" and encrypts == 0 and mode.startswith("random-"):
            print("broken shim: asking for random bytes", file=sys.stderr, flush=True)
            if mode == "random-undeclared":
                ask(out, req["id"], 16)
            elif mode == "random-wrong-id":
                ask(out, req["id"] + 1, 16)
            elif mode == "random-too-much":
                ask(out, req["id"], 4097)
            elif mode == "random-over-total":
                for _ in range(17):
                    if ask(out, req["id"], 4096) is None:
                        break
        if op == "export" and mode == "random-export":
            ask(out, req["id"], 8)
        answer = base.answer(line)
        shim.random.request = None
        if mode == "stderr-noise":
            for i in range(50):
                shim.log(f"noise {req['id']}.{i}: " + "x" * 100)
        if op == "hello":
            print("broken shim: hello received", file=sys.stderr, flush=True)
            if mode == "hang-hello":
                time.sleep(3600)
            hello = answer["ok"]
            if mode == "lie-protocol":
                hello["protocol"] = 2
            elif mode == "lie-family":
                hello["peers"][0]["family"] = "quantum"
            elif mode == "lie-limits":
                del hello["peers"][0]["limits"]
            elif mode in ("lie-declares", "declare-other"):
                hello["peers"][0]["family"] = "olm" if mode == "lie-declares" else "template-echo"
                hello["peers"][0]["declares"] = {
                    "description": "the template's echo stand-in: a counter and a public "
                                   "checksum, no cryptography",
                    "ratchets_per_turn": False,
                    "uses_previous_length": False,
                    "deletes_used_keys": False,
                }
        elif op == "encrypt":
            encrypts += 1
            if mode == "hang-encrypt":
                print("broken shim: about to hang", file=sys.stderr, flush=True)
                time.sleep(3600)
            elif mode in ("crash", "stderr-noise") and encrypts == 5:
                print("broken shim: crashing at encrypt 5", file=sys.stderr, flush=True)
                sys.stdout.flush()
                os._exit(3)
            elif mode == "garbage":
                out.write(b"this is not json\n")
                out.flush()
                continue
            elif mode == "wrong-id":
                answer["id"] = req["id"] + 1
            elif mode == "oversized":
                out.write(b'{"id": %d, "ok": {"wire": "' % req["id"])
                out.write(b"00" * (9 * 1024 * 1024))
                out.write(b'"}}\n')
                out.flush()
                continue
        out.write(json.dumps(answer).encode() + b"\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "fine"))
