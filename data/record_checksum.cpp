#include "data/record_checksum.hpp"

#include "core/hash.hpp"

namespace pfce {
namespace {

// FNV-1a of the compact dump: nlohmann orders an object's keys, and a number reads back to the
// text it was written as, so a record read and dumped again hashes as written.
std::string checksum_of(nlohmann::json record) {
    record.erase(kRecordChecksumKey);
    const std::string text = record.dump();
    return hex64(fnv1a64(text.data(), text.size()));
}

}  // namespace

void seal_record(nlohmann::json& record) {
    record[kRecordChecksumKey] = checksum_of(record);
}

bool record_edited(const nlohmann::json& record) {
    return record.is_object() && record.contains(kRecordChecksumKey) &&
           record[kRecordChecksumKey] != checksum_of(record);
}

std::string edited_record_message(const std::string& used, const std::string& remedy) {
    return ": edited since pfce wrote it (its checksum no longer matches): " + used +
           ", which an edit makes say what is not so. " + remedy;
}

}  // namespace pfce
