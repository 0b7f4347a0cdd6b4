#!/usr/bin/env python3
"""Known answers for the signal-dr profile, computed with pyca/cryptography (OpenSSL).

An implementation independent of the Rust reference: harness/tests/kat.rs holds this
script's output and checks the reference against it. Run: python3 signal_dr_kat.py
"""
import hashlib
import hmac

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

KDF_RK_INFO = b"ratchet-bench signal-dr KDF_RK"
ENCRYPT_INFO = b"ratchet-bench signal-dr ENCRYPT"


def hkdf(salt, ikm, info, n):
    return HKDF(algorithm=hashes.SHA256(), length=n, salt=salt, info=info).derive(ikm)


def kdf_rk(rk, dh_out):
    okm = hkdf(rk, dh_out, KDF_RK_INFO, 64)
    return okm[:32], okm[32:]


def kdf_ck(ck):
    return hmac.new(ck, b"\x02", hashlib.sha256).digest(), hmac.new(ck, b"\x01", hashlib.sha256).digest()


def encrypt(mk, pt, ad):
    okm = hkdf(bytes(32), mk, ENCRYPT_INFO, 80)
    enc, auth, iv = okm[:32], okm[32:64], okm[64:]
    padder = padding.PKCS7(128).padder()
    padded = padder.update(pt) + padder.finalize()
    e = Cipher(algorithms.AES(enc), modes.CBC(iv)).encryptor()
    ct = e.update(padded) + e.finalize()
    return ct + hmac.new(auth, ad + ct, hashlib.sha256).digest()


def public(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def dh(priv, pub):
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
    return X25519PrivateKey.from_private_bytes(priv).exchange(X25519PublicKey.from_public_bytes(pub))


def header(dh_pub, pn, n):
    return dh_pub + n.to_bytes(4, "big") + pn.to_bytes(4, "big")


def main():
    rk, dh_out = bytes(range(32)), bytes(range(32, 64))
    print("kdf_rk", *(x.hex() for x in kdf_rk(rk, dh_out)))
    ck = bytes(range(64, 96))
    print("kdf_ck", *(x.hex() for x in kdf_ck(ck)))
    mk = bytes(range(96, 128))
    print("encrypt", encrypt(mk, b"ratchet-bench known answer", b"associated data").hex())

    # A whole first exchange: SK, Bob's ratchet key, Alice's first and second ratchet keys
    # (what each party draws from its RNG), the plaintexts and the session's ad.
    sk = bytes([0x11] * 32)
    bob0 = bytes([0x22] * 32)
    alice0 = bytes([0x33] * 32)
    bob1 = bytes([0x44] * 32)
    ad = b"ratchet-bench session ad"
    # Alice: RatchetInitAlice, then RatchetEncrypt.
    rk_a, cks = kdf_rk(sk, dh(alice0, public(bob0)))
    cks, mk = kdf_ck(cks)
    h = header(public(alice0), 0, 0)
    m0 = h + encrypt(mk, b"hello bob", ad + h)
    print("m0", m0.hex())
    # Bob: DHRatchet on m0's key (draws bob1), then his reply.
    rk_b, ckr = kdf_rk(sk, dh(bob0, public(alice0)))
    rk_b, cks_b = kdf_rk(rk_b, dh(bob1, public(alice0)))
    cks_b, mk = kdf_ck(cks_b)
    h = header(public(bob1), 0, 0)
    m1 = h + encrypt(mk, b"hi alice", ad + h)
    print("m1", m1.hex())


if __name__ == "__main__":
    main()
