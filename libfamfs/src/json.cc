#include "famfs/json.h"

#include <fmt/format.h>

#include <cstdint>

namespace famfs {

namespace {

// Length of the well-formed UTF-8 sequence at s[i], or 0 when the byte there
// does not start one (Unicode 15, table 3-7).
size_t utf8_seq_len(std::string_view s, size_t i) {
    const auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
    const size_t left = s.size() - i;
    const uint8_t c = b(0);
    if (c < 0x80) return 1;
    auto cont = [&](size_t k, uint8_t lo = 0x80, uint8_t hi = 0xbf) {
        return k < left && b(k) >= lo && b(k) <= hi;
    };
    if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
    if (c == 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
    if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) return cont(1) && cont(2) ? 3 : 0;
    if (c == 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;  // no surrogates
    if (c == 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
    if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
    if (c == 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
    return 0;
}

}  // namespace

bool is_valid_utf8(std::string_view bytes) {
    for (size_t i = 0; i < bytes.size();) {
        const size_t n = utf8_seq_len(bytes, i);
        if (!n) return false;
        i += n;
    }
    return true;
}

std::string json_safe(std::string_view bytes) {
    if (is_valid_utf8(bytes)) return std::string(bytes);
    std::string out;
    out.reserve(bytes.size() + 16);
    for (size_t i = 0; i < bytes.size();) {
        const size_t n = utf8_seq_len(bytes, i);
        if (n) {
            out.append(bytes.substr(i, n));
            i += n;
        } else {
            out += fmt::format("\\x{:02x}", static_cast<uint8_t>(bytes[i]));
            ++i;
        }
    }
    return out;
}

std::string json_quote(std::string_view bytes) {
    const std::string safe = json_safe(bytes);
    std::string out;
    out.reserve(safe.size() + 2);
    out += '"';
    for (char ch : safe) {
        const auto c = static_cast<uint8_t>(ch);
        switch (ch) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20 || c == 0x7f)
                    out += fmt::format("\\u{:04x}", c);
                else
                    out += ch;
        }
    }
    out += '"';
    return out;
}

}  // namespace famfs
