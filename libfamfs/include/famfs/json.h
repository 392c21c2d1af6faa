// Byte strings from the device (file names, paths) or from the command line
// (device paths) are not necessarily UTF-8, but JSON text must be. These turn
// any byte string into valid UTF-8 that a JSON encoder accepts, so rendering a
// hostile name can never throw (nlohmann::json::dump() throws on invalid
// UTF-8). Use them for every name, path or device string put in a JSON
// document.
#pragma once

#include <string>
#include <string_view>

namespace famfs {

// True when `bytes` is well-formed UTF-8 (no overlong forms, surrogates or
// code points above U+10FFFF), the rule JSON encoders apply.
bool is_valid_utf8(std::string_view bytes);

// Valid UTF-8 is returned unchanged. Otherwise every byte that is not part of
// a well-formed sequence becomes the four characters \xHH (as `ls -b` shows
// it), so the result is valid UTF-8, readable, and names the exact bytes.
std::string json_safe(std::string_view bytes);

// A complete JSON string literal (quotes included) for any byte string:
// json_safe() plus JSON escaping of '"', '\\' and control characters.
std::string json_quote(std::string_view bytes);

}  // namespace famfs
