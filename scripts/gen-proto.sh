#!/usr/bin/env bash
# Regenerates Sources/BillingProto from proto/ with protoc (Debian's protobuf-compiler) and
# the two plugins built from the mirrored packages in a scratch package outside the repo.
# The output is committed: builds and CI never run this. Each generated file records the
# SHA-256 of its .proto, and a test fails when the two drift apart.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="${PROTOC_PLUGINS_DIR:-/tmp/billing-protoc-plugins}"
command -v protoc >/dev/null || { apt-get update -qq && apt-get install -y -qq protobuf-compiler >/dev/null; }

mkdir -p "$scratch/Empty"
cat >"$scratch/Package.swift" <<'SWIFT'
// swift-tools-version: 6.1
import PackageDescription
let package = Package(
    name: "plugins",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
    ],
    targets: [.target(name: "Empty", path: "Empty")]
)
SWIFT
echo "" >"$scratch/Empty/e.swift"
(cd "$scratch" && swift build -c release --product protoc-gen-swift >/dev/null \
  && swift build -c release --product protoc-gen-grpc-swift-2 >/dev/null)
bin="$(cd "$scratch" && swift build -c release --show-bin-path)"

out="$root/Sources/BillingProto"
mkdir -p "$out"
for proto in billing/v1/billing.proto payment/v1/payment.proto; do
  [ -f "$root/proto/$proto" ] || continue
  protoc -I "$root/proto" \
    --plugin=protoc-gen-swift="$bin/protoc-gen-swift" --swift_out="$out" --swift_opt=Visibility=Public \
    --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" --grpc-swift-2_out="$out" \
    --grpc-swift-2_opt=Visibility=Public \
    "$root/proto/$proto"
  sum="$(sha256sum "$root/proto/$proto" | cut -d' ' -f1)"
  base="${proto%.proto}"
  for generated in "$out/$base.pb.swift" "$out/$base.grpc.swift"; do
    { echo "// proto-sha256: $sum"; cat "$generated"; } >"$generated.tmp" && mv "$generated.tmp" "$generated"
  done
done
echo "generated into $out"
