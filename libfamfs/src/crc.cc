#include "famfs/crc.h"

#include <zlib.h>

// The folded crc is x86-64 code (PCLMULQDQ); elsewhere zlib does it all.
#if defined(__x86_64__) || defined(__i386__)
#define FAMFS_CRC_PCLMUL 1
#include <immintrin.h>
#else
#define FAMFS_CRC_PCLMUL 0
#endif

namespace famfs {

#if FAMFS_CRC_PCLMUL
namespace {

// CRC-32 (zlib's polynomial, bit-reflected) by carry-less multiplication:
// four 128-bit lanes fold 64 bytes per step, then fold to one lane, to 64
// bits, and a Barrett reduction gives 32 (Gopal et al., "Fast CRC
// Computation for Generic Polynomials Using PCLMULQDQ Instruction", Intel
// 2009; the constants are x^k mod P for the reflected polynomial).
// `state` is the running crc before the final inversion; `len` is a
// multiple of 16 and at least 64. Returns the new state.
__m128i load(const uint8_t* q) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q)); }

// x * x^k mod P, added to `next`: one 128-bit lane moved forward.
__attribute__((target("pclmul"))) inline __m128i fold(__m128i x, __m128i k, __m128i next) {
    return _mm_xor_si128(
        _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), next);
}

__attribute__((target("pclmul,sse4.1"))) uint32_t fold_pclmul(uint32_t state, const uint8_t* p,
                                                               size_t len) {
    const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
    const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
    const __m128i k5 = _mm_set_epi64x(0, 0x0163cd6124);
    const __m128i poly = _mm_set_epi64x(0x01f7011641, 0x01db710641);
    __m128i x1 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(state)));
    __m128i x2 = load(p + 16), x3 = load(p + 32), x4 = load(p + 48);
    p += 64;
    len -= 64;
    for (; len >= 64; p += 64, len -= 64) {
        x1 = fold(x1, k1k2, load(p));
        x2 = fold(x2, k1k2, load(p + 16));
        x3 = fold(x3, k1k2, load(p + 32));
        x4 = fold(x4, k1k2, load(p + 48));
    }
    x1 = fold(x1, k3k4, x2);
    x1 = fold(x1, k3k4, x3);
    x1 = fold(x1, k3k4, x4);
    for (; len >= 16; p += 16, len -= 16) x1 = fold(x1, k3k4, load(p));

    // 128 -> 64 bits.
    const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), _mm_clmulepi64_si128(x1, k3k4, 0x10));
    x1 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, low32), k5, 0x00),
                       _mm_srli_si128(x1, 4));
    // Barrett reduction to 32 bits.
    __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x1, low32), poly, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, low32), poly, 0x00);
    x1 = _mm_xor_si128(x1, t);
    return static_cast<uint32_t>(_mm_extract_epi32(x1, 1));
}

const bool g_have_pclmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");

}  // namespace
#endif

uint32_t crc32(const void* data, size_t len) {
    const auto* p = static_cast<const uint8_t*>(data);
    uLong crc = 0;
#if FAMFS_CRC_PCLMUL
    if (g_have_pclmul && len >= 64) {
        // A log entry's 536 bytes: 528 folded here, 8 by zlib.
        const size_t bulk = len & ~size_t{15};
        crc = ~fold_pclmul(~0u, p, bulk);
        p += bulk;
        len -= bulk;
    }
#endif
    return static_cast<uint32_t>(::crc32_z(crc, p, len));
}

uint32_t superblock_crc(const Superblock& sb) { return crc32(&sb, offsetof(Superblock, crc)); }

uint32_t log_header_crc(const LogHeader& h) { return crc32(&h, offsetof(LogHeader, crc)); }

uint32_t entry_crc(const LogEntry& e) { return crc32(&e, offsetof(LogEntry, crc)); }

}  // namespace famfs
