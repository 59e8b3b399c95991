// Text helpers of messages: byte counts read as people read them (a small free space was "0.0 GB").
#include <gtest/gtest.h>

#include "core/text.hpp"

namespace pfce {
namespace {

TEST(Text, ByteCountsUseTheUnitThatShowsThem) {
    EXPECT_EQ(format_bytes(0), "0 bytes");
    EXPECT_EQ(format_bytes(1), "1 byte");
    EXPECT_EQ(format_bytes(999), "999 bytes");
    EXPECT_EQ(format_bytes(999.7), "1.0 KB");
    EXPECT_EQ(format_bytes(999960), "1.0 MB");
    EXPECT_EQ(format_bytes(4096), "4.1 KB");
    EXPECT_EQ(format_bytes(12.5e6), "12.5 MB");
    EXPECT_EQ(format_bytes(2.14e9), "2.1 GB");
    EXPECT_EQ(format_bytes(3e15), "3000.0 TB");
}

}  // namespace
}  // namespace pfce
