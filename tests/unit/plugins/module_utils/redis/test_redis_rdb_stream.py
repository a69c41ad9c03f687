"""redis.rdb.KeyCounter on hand-built RDB files, and SnapshotStream's framing over a
socket pair (both forms a server uses: $<length> and $EOF:<mark>)."""

import socket
import struct
import threading

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import ConnectionFailed
from ansible_collections.golive.core.plugins.module_utils.redis import backup, rdb


def length(n):
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    return b"\x80" + struct.pack(">I", n)


def string(data):
    data = data.encode() if isinstance(data, str) else data
    return length(len(data)) + data


def key(kind, name):
    return bytes([kind]) + string(name)


def sample_rdb():
    out = [b"REDIS0010",
           b"\xfa" + string("redis-ver") + string("7.0.15"),
           b"\xfa" + string("redis-bits") + b"\xc0\x40",
           b"\xfe\x00", b"\xfb" + length(12) + length(1),
           b"\xfc" + struct.pack("<Q", 1_800_000_000_000) + key(0, "ttl") + string("v"),
           key(0, "lzf") + b"\xc3" + length(5) + length(50) + b"\x01\x02\x03\x04\x05",
           key(0, "int16") + b"\xc1\x34\x12",
           key(1, "list") + length(300) + b"".join(string("item%d" % i) for i in range(300)),
           key(2, "set") + length(2) + string("a") + string("b"),
           key(3, "zset") + length(2) + string("m1") + b"\x031.5" + string("m2") + b"\xfd",
           key(4, "hash") + length(1) + string("f") + string("v"),
           key(5, "zset2") + length(1) + string("m") + struct.pack("<d", 2.5),
           key(11, "intset") + string(b"\x02\x00\x00\x00\x01\x00\x00\x00\x05\x00"),
           key(14, "quicklist") + length(1) + string(b"ziplist-bytes"),
           key(18, "quicklist2") + length(1) + length(2) + string(b"listpack-bytes"),
           key(15, "stream") + length(1) + string(b"k" * 16) + string(b"lp") + length(1) + length(7) + length(0)
           + length(1) + string("group") + length(7) + length(0)
           + length(1) + b"i" * 16 + b"t" * 8 + length(1)
           + length(1) + string("consumer") + b"s" * 8 + length(1) + b"i" * 16,
           key(19, "stream2") + length(0) + length(0) * 3 + length(0) * 5 + length(0),
           key(7, "module") + b"\x81" + struct.pack(">Q", 12345) + length(1) + length(7) + length(3) + b"f" * 4
           + length(4) + b"d" * 8 + length(5) + string("x") + length(0),
           b"\xfe\x02",
           b"\xf8" + length(10) + key(0, "idle") + string("v"),
           b"\xf9\x05" + key(0, "freq") + string("v"),
           b"\xf7" + length(5) + length(2) + length(2) + length(2) + length(9) + length(5) + string("aux") + length(0),
           b"\xf5" + string("#!lua name=lib\nredis.register_function('f', function() return 1 end)"),
           b"\xff" + b"\x00" * 8]
    return b"".join(out)


EXPECTED = {"db0": {"keys": 14, "expires": 1}, "db2": {"keys": 2, "expires": 0}}


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_counts_keys_per_database_whatever_the_chunking(chunk):
    data = sample_rdb()
    counter = rdb.KeyCounter()
    for i in range(0, len(data), chunk):
        counter.feed(data[i:i + chunk])
    assert counter.error is None and counter.done
    assert counter.keyspace == EXPECTED
    assert counter.version == 10
    assert counter.aux == {"redis-ver": "7.0.15", "redis-bits": "64"}


def test_a_truncated_file_is_not_done():
    data = sample_rdb()
    counter = rdb.KeyCounter()
    counter.feed(data[:len(data) // 2])
    assert not counter.done and counter.error is None


@pytest.mark.parametrize("data,message", [
    (b"NOTREDIS1", "not an RDB file"),
    (b"REDIS0010" + b"\x06" + string("k"), "value type 6 is not supported"),
    (b"REDIS0010" + b"\xf6", "pre-release 7.0 format"),
    (b"REDIS0010" + b"\x00" + b"\xc5", "unknown string encoding"),
])
def test_what_it_cannot_read_is_an_error_not_an_exception(data, message):
    counter = rdb.KeyCounter()
    counter.feed(data)
    assert message in counter.error and not counter.done


def test_large_strings_are_skipped_not_buffered():
    counter = rdb.KeyCounter()
    counter.feed(b"REDIS0010" + key(0, "big") + length(10_000_000))
    for _round in range(100):
        counter.feed(b"x" * 100_000)
        assert len(counter._buf) < 200_000
    counter.feed(b"\xff" + b"\x00" * 8)
    assert counter.done and counter.keyspace == {"db0": {"keys": 1, "expires": 0}}


@pytest.mark.parametrize("compare,expected,observed", [
    ([], {"db0": {"keys": 5, "expires": 0}}, {"db0": {"keys": 5, "expires": 0}}),
    ([], {"db0": {"keys": 5, "expires": 2}}, {"db0": {"keys": 3, "expires": 0}}),
    (["db0 holds 2 keys, expected 5"], {"db0": {"keys": 5, "expires": 2}}, {"db0": {"keys": 2, "expires": 0}}),
    (["db1 holds 1 keys, expected 0"], {}, {"db1": {"keys": 1, "expires": 0}}),
    (["db3 holds 0 keys, expected 4"], {"db3": {"keys": 4, "expires": 0}}, {}),
])
def test_compare_keyspace(compare, expected, observed):
    assert backup.compare_keyspace(expected, observed) == compare


def _serve(payload_frames):
    ours, theirs = socket.socketpair()

    def send():
        for frame in payload_frames:
            theirs.sendall(frame)
        theirs.close()

    thread = threading.Thread(target=send)
    thread.start()
    return ours, thread


def _read_all(stream, size=1000):
    chunks = []
    while True:
        data = stream.read(size)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


@pytest.mark.parametrize("eof_form", [False, True])
def test_snapshot_stream_reads_both_payload_forms(eof_form):
    payload = sample_rdb()
    mark = b"m" * 40
    header = b"$EOF:" + mark + b"\r\n" if eof_form else b"$%d\r\n" % len(payload)
    frames = [b"\n", b"\n", header + payload[:100], payload[100:3000], payload[3000:] + (mark if eof_form else b"")]
    sock, thread = _serve(frames)
    counter = rdb.KeyCounter()
    stream = backup.SnapshotStream(sock, "Redis at test", counter, chunk_size=512).start()
    assert _read_all(stream, 333) == payload
    assert stream.complete and stream.size == len(payload)
    assert counter.keyspace == EXPECTED
    thread.join()
    sock.close()


def test_a_connection_that_ends_early_is_a_clear_error():
    payload = sample_rdb()
    sock, thread = _serve([b"$%d\r\n" % len(payload), payload[:500]])
    stream = backup.SnapshotStream(sock, "Redis at test", rdb.KeyCounter()).start()
    with pytest.raises(ConnectionFailed, match="closed the connection after 500 bytes"):
        _read_all(stream)
    thread.join()
    sock.close()


def test_a_payload_without_the_rdb_end_is_refused():
    payload = sample_rdb()[:-9]
    sock, thread = _serve([b"$%d\r\n" % len(payload), payload])
    stream = backup.SnapshotStream(sock, "Redis at test", rdb.KeyCounter()).start()
    with pytest.raises(Exception, match="ended before the RDB end marker"):
        _read_all(stream)
    thread.join()
    sock.close()


def test_an_error_reply_is_reported():
    sock, thread = _serve([b"-NOPERM this user has no permissions to run the 'sync' command\r\n"])
    with pytest.raises(Exception, match="Failed to copy the snapshot from Redis at test: NOPERM"):
        backup.SnapshotStream(sock, "Redis at test").start()
    thread.join()
    sock.close()
