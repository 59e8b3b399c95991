// The Protocol Buffers wire format, written by hand for the few messages pfce emits (an ONNX model:
// host/train/onnx_export). Only what a writer needs: varints, 32-bit floats and length-delimited
// fields (strings, bytes, nested messages). Repeated scalars are written one field each, the
// proto2 encoding, which every parser accepts (packed or not).
// https://protobuf.dev/programming-guides/encoding/
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace pfce::proto {

enum class WireType : std::uint8_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

// One message's bytes, field after field in the order written.
class Message {
  public:
    // int64 / int32 / enum / bool fields: a negative value takes ten bytes, as protobuf writes it.
    Message& varint(int field, std::int64_t value) {
        tag(field, WireType::varint);
        raw_varint(static_cast<std::uint64_t>(value));
        return *this;
    }
    Message& float32(int field, float value) {
        tag(field, WireType::fixed32);
        std::uint32_t bits;
        std::memcpy(&bits, &value, sizeof bits);
        for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<char>((bits >> (8 * i)) & 0xffu));
        return *this;
    }
    // string, bytes and nested-message fields.
    Message& bytes(int field, std::string_view value) {
        tag(field, WireType::length_delimited);
        raw_varint(value.size());
        bytes_.append(value.data(), value.size());
        return *this;
    }
    Message& message(int field, const Message& m) { return bytes(field, m.bytes_); }
    // A length-delimited field whose `length` bytes the caller appends next (append): a large
    // nested message written in place instead of built apart and copied in.
    Message& begin_bytes(int field, std::uint64_t length) {
        tag(field, WireType::length_delimited);
        raw_varint(length);
        return *this;
    }
    Message& append(std::string_view raw) {
        bytes_.append(raw.data(), raw.size());
        return *this;
    }
    void reserve(std::size_t n) { bytes_.reserve(n); }

    // The bytes a length-delimited field of `length` bytes takes, its tag and length included.
    static std::uint64_t field_size(int field, std::uint64_t length) {
        return varint_size(static_cast<std::uint64_t>(field) << 3) + varint_size(length) + length;
    }
    static std::uint64_t varint_size(std::uint64_t v) {
        std::uint64_t n = 1;
        for (; v >= 0x80; v >>= 7) ++n;
        return n;
    }

    const std::string& data() const { return bytes_; }
    std::string release() && { return std::move(bytes_); }  // the bytes, without a copy
    std::size_t size() const { return bytes_.size(); }

  private:
    void tag(int field, WireType type) {
        raw_varint((static_cast<std::uint64_t>(field) << 3) | static_cast<std::uint64_t>(type));
    }
    void raw_varint(std::uint64_t v) {
        while (v >= 0x80) {
            bytes_.push_back(static_cast<char>((v & 0x7f) | 0x80));
            v >>= 7;
        }
        bytes_.push_back(static_cast<char>(v));
    }
    std::string bytes_;
};

}  // namespace pfce::proto
