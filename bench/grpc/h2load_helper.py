#!/usr/bin/env python3
"""Helpers of bench/grpc/h2load.sh (standard library only).

  h2load_helper.py bodies DIR       writes gRPC request bodies (length-prefixed protobuf)
  h2load_helper.py stats LOG...     calls/s and p50/p99/p99.9 from h2load --log-file files
"""
import struct
import sys


def field_string(number, text):
    data = text.encode()
    return bytes([number << 3 | 2, len(data)]) + data


def field_varint(number, value):
    out = bytes([number << 3])
    while True:
        low, value = value & 0x7F, value >> 7
        out += bytes([low | 0x80]) if value else bytes([low])
        if not value:
            return out


def grpc_frame(message):
    return b"\x00" + struct.pack(">I", len(message)) + message


def bodies(directory):
    # CheckQuota and DeductQuota share fields 1-3: user_id, service_name, count.
    def quota(user):
        return grpc_frame(field_string(1, user) + field_string(2, "passport") + field_varint(3, 1))

    open(f"{directory}/ping.bin", "wb").write(grpc_frame(b""))
    open(f"{directory}/hot.bin", "wb").write(quota("u1"))
    # 64 users spread over the 10,000 seeded ones, one per h2load process.
    for index in range(64):
        open(f"{directory}/user{index}.bin", "wb").write(quota(f"u{index * 150 + 7}"))


def stats(paths):
    starts, ends, durations = [], [], []
    for path in paths:
        for line in open(path):
            columns = line.split("\t")
            if len(columns) < 3:
                continue
            start, duration = int(columns[0]), int(columns[2])
            starts.append(start)
            ends.append(start + duration)
            durations.append(duration)
    durations.sort()

    def quantile(q):
        return durations[min(len(durations) - 1, int(q * len(durations)))] / 1000

    rate = len(durations) / ((max(ends) - min(starts)) / 1e6)
    print(f"{len(durations)} | {rate:.0f} | {quantile(0.5):.2f} | {quantile(0.99):.2f} | {quantile(0.999):.2f}")


if __name__ == "__main__":
    if sys.argv[1] == "bodies":
        bodies(sys.argv[2])
    else:
        stats(sys.argv[2:])
