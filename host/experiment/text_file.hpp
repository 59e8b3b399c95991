// Small file helpers for the experiment outputs: whole-file reads, atomic text writes (temp file +
// rename, so a report or result file is either complete or absent), and base64 for inlining
// pictures in the offline HTML report.
#pragma once

#include <string>

namespace pfce {

std::string read_text_file(const std::string& path);  // InputError naming the file if unreadable
void write_text_atomically(const std::string& path, const std::string& text);
std::string base64_encode(const std::string& bytes);
bool file_exists(const std::string& path);

}  // namespace pfce
