"""Card codes, receipt codes and the URLs printed on cards.

A card code is derived from the app's secret key, the round, the group and the card's
number, so the printed cards can be rendered again while the database holds only SHA-256
hashes of the codes. Rounds created since issue 13 use short codes (version 2): 12
characters from an alphabet without look-alikes (no 0/O, 1/I/L, U/V), about 59 bits, safe
behind the per-address guessing limit (the arithmetic is in the README). Older rounds keep
their 26-character base32 codes (version 1, 128 bits), which still work. A receipt code is derived from the card code and a one-time
value in the respondent's page: the same page resubmitted gets the same receipt, and
nothing stored says which ballot a receipt belongs to.
"""
import base64
import functools
import hashlib
import hmac
import re
import secrets
import unicodedata
from urllib.parse import urlsplit

CODE_BYTES = 16  # 128 bits (version 1)
CODE_LENGTH = 26  # base32 characters for 128 bits (version 1)
SHORT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"  # 29 characters, no look-alikes
SHORT_LENGTH = 12  # 29**12 ≈ 3.5e17 ≈ 2**58.3
CODE_VERSION = 2  # what new rounds get
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_SHORT_SPACE = len(SHORT_ALPHABET) ** SHORT_LENGTH
# Every three-character string of the alphabet, in base-29 order: a code is four of them.
_TRIPLES = [a + b + c for a in SHORT_ALPHABET for b in SHORT_ALPHABET for c in SHORT_ALPHABET]
_TRIPLE_SPACE = len(_TRIPLES)
RECEIPT_LENGTH = 12  # 60 bits: unguessable enough to prove nothing, short enough to read
_NOT_BASE32 = re.compile(r"[^A-Z2-7]")
# Characters people mistype for base32 letters.
_LOOKALIKES = str.maketrans({"0": "O", "1": "I", "8": "B"})


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def _mac(key: str, message: str) -> bytes:
    mac = _keyed(key).copy()
    mac.update(message.encode())
    return mac.digest()


@functools.lru_cache(maxsize=4)
def _keyed(key: str):
    """The HMAC state after the key: copied per code, so the key is hashed in once."""
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


@functools.lru_cache(maxsize=4)
def _pads(key: str):
    """SHA-256 after HMAC's inner and outer key pads (RFC 2104): copying these two
    states per message gives HMAC-SHA256 at a fraction of ``hmac``'s per-call cost."""
    raw = key.encode()
    if len(raw) > 64:  # SHA-256's block size
        raw = hashlib.sha256(raw).digest()
    raw = raw.ljust(64, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in raw)),
            hashlib.sha256(bytes(b ^ 0x5C for b in raw)))


def card_code(key: str, round_id: int, group: str, number: int, epoch: int = 0,
              version: int = 1) -> str:
    """The code of card ``number`` of a group in a round (``epoch`` counts re-issues).

    Version 1: 26 base32 characters; version 2: SHORT_LENGTH characters of SHORT_ALPHABET.
    """
    return card_codes(key, round_id, group, range(number, number + 1), epoch, version)[0]


def card_codes(key: str, round_id: int, group: str, numbers: range, epoch: int = 0,
               version: int = 1) -> list[str]:
    """``card_code`` for many numbers of one group at once (printing and issuing a
    round's cards derive thousands)."""
    issue = f"/{epoch}" if epoch else ""
    inner, outer = _pads(key)
    new_inner, new_outer = inner.copy, outer.copy
    if version == 1:
        prefix = f"evalsvc/card/{round_id}{issue}/{group}/"
    else:
        prefix = f"evalsvc/card2/{round_id}{issue}/{group}/"
    found = []
    for number in numbers:
        mac = new_inner()
        mac.update(f"{prefix}{number}".encode())
        digest = new_outer()
        digest.update(mac.digest())
        found.append(digest.digest())
    if version == 1:
        return [_b32(raw[:CODE_BYTES]) for raw in found]
    # 80 bits reduced to 29**12 (≈ 2**58.3): no code is more than 2**-21 likelier than
    # another. Four base-29 digit triples, from a table, most significant first.
    triples, space, size = _TRIPLES, _TRIPLE_SPACE, _SHORT_SPACE
    codes = []
    for raw in found:
        value, low = divmod(int.from_bytes(raw[:10]) % size, space)
        value, second = divmod(value, space)
        top, third = divmod(value, space)
        codes.append(triples[top % space] + triples[third] + triples[second] + triples[low])
    return codes


def hash_code(code: str) -> str:
    """What the database keeps of a card code (a fast hash suffices for 128 random bits)."""
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def normalise_code(text: str) -> str | None:
    """A typed or scanned code in canonical form (short or long), or None when it cannot be one."""
    text = _half_width(text)
    short = _NOT_ALNUM.sub("", text.upper())
    if len(short) == SHORT_LENGTH:
        return short if all(c in SHORT_ALPHABET for c in short) else None
    code = _NOT_BASE32.sub("", text.upper().translate(_LOOKALIKES))
    return code if len(code) == CODE_LENGTH else None


def unprinted_characters(text: str) -> str:
    """The characters of a 12-character typed code that no short code contains (0, 1, O,
    I, L, U, V), in the order typed; empty when there are none or it is not 12 long."""
    short = _NOT_ALNUM.sub("", _half_width(text).upper())
    if len(short) != SHORT_LENGTH:
        return ""
    return "".join(dict.fromkeys(c for c in short if c not in SHORT_ALPHABET))


def _half_width(text: str) -> str:
    """Full-width letters, digits and spaces (a Chinese input method's) as plain ASCII."""
    return unicodedata.normalize("NFKC", text)


def display_code(code: str) -> str:
    """The code in groups of four, as printed for typing."""
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4))


def receipt_code(key: str, round_id: int, card: str, nonce: str) -> str:
    """The receipt for a card ballot submitted from the page that carried ``nonce``."""
    return _b32(_mac(key, f"evalsvc/receipt/{round_id}/{card}/{nonce}"))[:RECEIPT_LENGTH]


def poster_receipt(key: str, round_id: int, nonce: str) -> str:
    """The receipt for a poster ballot submitted from the page that carried ``nonce``."""
    return _b32(_mac(key, f"evalsvc/poster-receipt/{round_id}/{nonce}"))[:RECEIPT_LENGTH]


def normalise_receipt(text: str) -> str | None:
    """A typed receipt in canonical form, or None."""
    code = _NOT_BASE32.sub("", _half_width(text).upper().translate(_LOOKALIKES))
    return code if len(code) == RECEIPT_LENGTH else None


def display_receipt(code: str) -> str:
    """A receipt as shown to the respondent: XXXX-XXXX-XXXX."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def new_nonce() -> str:
    """The one-time value a ballot page carries."""
    return secrets.token_urlsafe(16)


def is_nonce(text: str) -> bool:
    """True for a value ``new_nonce`` could have made."""
    return bool(re.fullmatch(r"[A-Za-z0-9_-]{16,32}", text or ""))


def card_url(public_url: str, code: str) -> str:
    """The URL a card's QR code carries.

    When the public base has no path, the whole URL is upper-cased: scheme and host are
    case-insensitive and our route accepts /C/, so the QR code can use the compact
    alphanumeric mode (fewer modules, easier scanning on cheap phones).
    """
    base = public_url.rstrip("/")
    if urlsplit(base).path in ("", "/"):
        return f"{base}/C/{code}".upper()
    return f"{base}/c/{code}"


def poster_url(public_url: str, token: str) -> str:
    """The URL an open poster's QR code carries."""
    return f"{public_url.rstrip('/')}/p/{token}"
