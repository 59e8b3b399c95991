// Text helpers of messages: byte counts read as people read them (a small free space was "0.0 GB").
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

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

// Tables of class names stay aligned with names that are not ASCII (a probe's "Straße 道路"
// shifted data stats' columns: printf pads by bytes).
TEST(Text, DisplayWidthCountsColumnsNotBytes) {
    EXPECT_EQ(display_width("road"), 4u);
    EXPECT_EQ(display_width("Straße"), 6u);     // 7 bytes
    EXPECT_EQ(display_width("道路"), 4u);       // 6 bytes, two wide characters
    EXPECT_EQ(display_width("e\xcc\x81"), 1u);  // e + combining acute
    EXPECT_EQ(display_width("\xff\xfe"), 2u);   // not UTF-8: a column a byte
    EXPECT_EQ(display_width("\xe9\x81"), 2u);   // cut short
    EXPECT_EQ(padded("Straße", 8), "Straße  ");
    EXPECT_EQ(padded("道路", 5), "道路 ");
    EXPECT_EQ(padded("longer than", 4), "longer than");
}

// The comma lists of --only, --seeds and list-valued flags: items trimmed, empty ones kept for
// the caller to refuse.
TEST(Text, CommaItemsKeepEmptyItems) {
    EXPECT_EQ(comma_items("a, b ,c"), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(comma_items("0,"), (std::vector<std::string>{"0", ""}));
    EXPECT_EQ(comma_items(""), (std::vector<std::string>{""}));
    EXPECT_EQ(comma_items(" 42 "), (std::vector<std::string>{"42"}));
}

// The commands messages tell a person to run again (sample, link, synth, train) name paths as one
// shell word each: checked by a shell, which must give every one back as it was.
TEST(Text, ShellWordsComeBackFromAShellAsTheyWere) {
    EXPECT_EQ(shell_word("runs/e1-dense_2.0/masks"), "runs/e1-dense_2.0/masks");
    EXPECT_EQ(shell_word("Straße/道路"), "Straße/道路");
    EXPECT_EQ(shell_word("my runs/a"), "'my runs/a'");
    for (const std::string& s :
         {std::string("my runs/a b"), std::string("it's"), std::string("$HOME/`x`"),
          std::string("a\"b;rm -rf x"), std::string(""), std::string("*.tif"),
          std::string("back\\slash"), std::string("new\nline"), std::string("'"),
          std::string("~/x"), std::string("a&b|c>d")}) {
        SCOPED_TRACE(s);
        const std::string cmd = "printf %s " + shell_word(s);
        FILE* f = popen(("/bin/sh -c " + shell_word(cmd)).c_str(), "r");
        ASSERT_NE(f, nullptr);
        std::string back;
        char buf[256];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) back.append(buf, n);
        EXPECT_EQ(pclose(f), 0);
        EXPECT_EQ(back, s);
    }
}

}  // namespace
}  // namespace pfce
