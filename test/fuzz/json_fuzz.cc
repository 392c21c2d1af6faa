// Fuzz target: JSON rendering of any byte string. json_safe() must give valid
// UTF-8 that nlohmann::json dumps without throwing and parses back unchanged;
// json_quote() must be a JSON string literal that parses to the same text;
// valid UTF-8 must pass through untouched.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "famfs/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const std::string safe = famfs::json_safe(in);
    if (!famfs::is_valid_utf8(safe)) abort();
    if (famfs::is_valid_utf8(in) && safe != in) abort();
    nlohmann::json j;
    j["name"] = safe;
    const std::string text = j.dump();  // throws type_error 316 on invalid UTF-8
    if (nlohmann::json::parse(text)["name"].get<std::string>() != safe) abort();
    if (nlohmann::json::parse(famfs::json_quote(in)).get<std::string>() != safe) abort();
    return 0;
}
