# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A streaming reader of the RDB format that counts keys per database.

It is fed the snapshot chunk by chunk, as it goes to the object store, and walks the
file without keeping values: strings are skipped, not buffered, so memory stays small
for any snapshot size. What it yields is the manifest's key count per database (and
how many of those keys carry a TTL), the RDB version and the ``redis-ver`` aux field.

A type it does not know (a newer Redis, a module value in the old format) does not
fail the backup: ``error`` says why counting stopped, and the caller falls back to
another source of key counts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

# Opcodes
OP_SLOT_INFO = 244
OP_FUNCTION2 = 245
OP_FUNCTION_PRE_GA = 246
OP_MODULE_AUX = 247
OP_IDLE = 248
OP_FREQ = 249
OP_AUX = 250
OP_RESIZEDB = 251
OP_EXPIRETIME_MS = 252
OP_EXPIRETIME = 253
OP_SELECTDB = 254
OP_EOF = 255

# Value types whose whole value is one string (ziplist, listpack, intset, zipmap)
_ONE_STRING = (0, 9, 10, 11, 12, 13, 16, 17, 20)
_STRING_SEQUENCE = (1, 2, 14)   # list, set, quicklist: count, then strings
_STREAMS = {15: 1, 19: 2, 21: 3}


class RdbError(Exception):
    pass


def _read(n):
    data = yield ("read", n)
    return data


def _skip(n):
    if n:
        yield ("skip", n)


def _length():
    """``(value, is_special_encoding)`` of one length field."""
    first = (yield from _read(1))[0]
    kind = first >> 6
    if kind == 0:
        return first & 0x3F, False
    if kind == 1:
        return ((first & 0x3F) << 8) | (yield from _read(1))[0], False
    if kind == 3:
        return first & 0x3F, True
    if first == 0x80:
        return struct.unpack(">I", (yield from _read(4)))[0], False
    if first == 0x81:
        return struct.unpack(">Q", (yield from _read(8)))[0], False
    raise RdbError("invalid length byte 0x%02x" % first)


def _plain_length():
    value, special = yield from _length()
    if special:
        raise RdbError("unexpected encoded length")
    return value


def _string(keep=False):
    """Skip one string (or return it as text when ``keep``)."""
    value, special = yield from _length()
    if not special:
        if keep:
            return (yield from _read(value)).decode("utf-8", "replace")
        yield from _skip(value)
        return None
    if value in (0, 1, 2):
        size = (1, 2, 4)[value]
        raw = yield from _read(size)
        return str(struct.unpack("<" + "bhi"[value], raw)[0]) if keep else None
    if value == 3:
        compressed = yield from _plain_length()
        yield from _plain_length()
        yield from _skip(compressed)
        return None
    raise RdbError("unknown string encoding %d" % value)


def _module_opcodes():
    while True:
        opcode = yield from _plain_length()
        if opcode == 0:
            return
        if opcode in (1, 2):
            yield from _plain_length()
        elif opcode == 3:
            yield from _skip(4)
        elif opcode == 4:
            yield from _skip(8)
        elif opcode == 5:
            yield from _string()
        else:
            raise RdbError("unknown module opcode %d" % opcode)


def _stream(version):
    for _node in range((yield from _plain_length())):
        yield from _string()
        yield from _string()
    for _field in range(3 + (5 if version >= 2 else 0)):
        yield from _plain_length()
    for _group in range((yield from _plain_length())):
        yield from _string()
        for _field in range(2 + (1 if version >= 2 else 0)):
            yield from _plain_length()
        for _pending in range((yield from _plain_length())):
            yield from _skip(16 + 8)
            yield from _plain_length()
        for _consumer in range((yield from _plain_length())):
            yield from _string()
            yield from _skip(8 + (8 if version >= 3 else 0))
            yield from _skip(16 * (yield from _plain_length()))


def _value(kind):
    if kind in _ONE_STRING:
        yield from _string()
    elif kind in _STRING_SEQUENCE:
        for _item in range((yield from _plain_length())):
            yield from _string()
    elif kind == 4:
        for _item in range(2 * (yield from _plain_length())):
            yield from _string()
    elif kind == 3:
        for _item in range((yield from _plain_length())):
            yield from _string()
            size = (yield from _read(1))[0]
            if size < 253:
                yield from _skip(size)
    elif kind == 5:
        for _item in range((yield from _plain_length())):
            yield from _string()
            yield from _skip(8)
    elif kind == 18:
        for _item in range((yield from _plain_length())):
            yield from _plain_length()
            yield from _string()
    elif kind in _STREAMS:
        yield from _stream(_STREAMS[kind])
    elif kind == 7:
        yield from _plain_length()
        yield from _module_opcodes()
    else:
        raise RdbError("value type %d is not supported" % kind)


class KeyCounter:
    """Feed an RDB file with :meth:`feed`; read ``keyspace``, ``done`` and ``error``.

    ``keyspace`` is ``{"db0": {"keys": n, "expires": m}}`` for every database that holds
    keys. ``done`` becomes true at the EOF opcode; the 8-byte checksum after it is
    not verified here (``redis-server`` verifies it when it loads the file).
    """

    def __init__(self):
        self.keyspace = {}
        self.version = None
        self.aux = {}
        self.done = False
        self.error = None
        self.offset = 0
        self._buf = bytearray()
        self._pos = 0
        self._gen = self._parse()
        self._request = next(self._gen)

    def feed(self, data):
        if self.done or self.error or not data:
            return
        self._buf += data
        try:
            self._advance()
        except StopIteration:
            self.done = True
        except RdbError as exc:
            self.error = "%s (at byte %d)" % (exc, self.offset)
        except (IndexError, struct.error) as exc:
            self.error = "malformed data: %s (at byte %d)" % (exc, self.offset)
        if self._pos == len(self._buf):
            self._buf = bytearray()
            self._pos = 0
        elif self._pos > 1 << 20 or self.done or self.error:
            del self._buf[:self._pos]
            self._pos = 0

    def _advance(self):
        while True:
            kind, size = self._request
            available = len(self._buf) - self._pos
            if kind == "skip":
                take = min(available, size)
                self._pos += take
                self.offset += take
                if take < size:
                    self._request = ("skip", size - take)
                    return
                reply = None
            else:
                if available < size:
                    return
                reply = bytes(self._buf[self._pos:self._pos + size])
                self._pos += size
                self.offset += size
            self._request = self._gen.send(reply)

    def _parse(self):
        magic = yield from _read(9)
        if magic[:5] != b"REDIS" or not magic[5:].isdigit():
            raise RdbError("not an RDB file (no REDIS magic)")
        self.version = int(magic[5:])
        db = 0
        has_ttl = False
        while True:
            opcode = (yield from _read(1))[0]
            if opcode == OP_EOF:
                return
            if opcode == OP_SELECTDB:
                db = yield from _plain_length()
            elif opcode == OP_RESIZEDB:
                yield from _plain_length()
                yield from _plain_length()
            elif opcode == OP_AUX:
                name = yield from _string(keep=True)
                value = yield from _string(keep=name in ("redis-ver", "ctime", "redis-bits"))
                if value is not None:
                    self.aux[name] = value
            elif opcode == OP_EXPIRETIME_MS:
                yield from _skip(8)
                has_ttl = True
            elif opcode == OP_EXPIRETIME:
                yield from _skip(4)
                has_ttl = True
            elif opcode == OP_IDLE:
                yield from _plain_length()
            elif opcode == OP_FREQ:
                yield from _skip(1)
            elif opcode == OP_MODULE_AUX:
                for _field in range(3):
                    yield from _plain_length()
                yield from _module_opcodes()
            elif opcode == OP_FUNCTION2:
                yield from _string()
            elif opcode == OP_SLOT_INFO:
                for _field in range(3):
                    yield from _plain_length()
            elif opcode == OP_FUNCTION_PRE_GA:
                raise RdbError("functions in the pre-release 7.0 format are not supported")
            else:
                yield from _string()
                yield from _value(opcode)
                entry = self.keyspace.setdefault("db%d" % db, {"keys": 0, "expires": 0})
                entry["keys"] += 1
                if has_ttl:
                    entry["expires"] += 1
                has_ttl = False
