#include "famfs/cache.h"

#include <cpuid.h>
#include <immintrin.h>

#include <atomic>
#include <cstdint>

namespace famfs {

namespace {

constexpr uintptr_t kLine = 64;
std::atomic<bool> g_coherent{false};

enum class FlushInsn { Clflush, Clflushopt, Clwb };

FlushInsn detect() {
    unsigned a, b, c, d;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        if (b & (1u << 24)) return FlushInsn::Clwb;
        if (b & (1u << 23)) return FlushInsn::Clflushopt;
    }
    return FlushInsn::Clflush;
}

const FlushInsn g_insn = detect();

// Plain clflush works everywhere; clflushopt/clwb are weakly ordered and need
// the sfence that follows. Selected at run time so one binary runs on any x86.
__attribute__((target("clflushopt"))) void flush_opt(const void* p) {
    _mm_clflushopt(const_cast<void*>(p));
}
__attribute__((target("clwb"))) void flush_wb(const void* p) { _mm_clwb(const_cast<void*>(p)); }

template <typename F>
void each_line(const void* addr, size_t len, F f) {
    uintptr_t p = reinterpret_cast<uintptr_t>(addr) & ~(kLine - 1);
    uintptr_t end = reinterpret_cast<uintptr_t>(addr) + len;
    for (; p < end; p += kLine) f(reinterpret_cast<const void*>(p));
}

}  // namespace

void set_coherent(bool coherent) { g_coherent = coherent; }
bool is_coherent() { return g_coherent; }

void store_fence() { _mm_sfence(); }

void flush(const void* addr, size_t len) {
    if (g_coherent || len == 0) return;
    switch (g_insn) {
        case FlushInsn::Clwb:
            each_line(addr, len, flush_wb);
            break;
        case FlushInsn::Clflushopt:
            each_line(addr, len, flush_opt);
            break;
        case FlushInsn::Clflush:
            each_line(addr, len, [](const void* p) { _mm_clflush(p); });
            break;
    }
    _mm_sfence();
}

void invalidate(const void* addr, size_t len) {
    if (g_coherent || len == 0) return;
    // clwb may keep the line; to drop it we need clflush(opt).
    if (g_insn == FlushInsn::Clflush)
        each_line(addr, len, [](const void* p) { _mm_clflush(p); });
    else
        each_line(addr, len, flush_opt);
    _mm_mfence();
}

}  // namespace famfs
