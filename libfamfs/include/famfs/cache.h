// CPU cache maintenance for shared memory that may not be coherent between
// hosts (CXL fabric memory without back-invalidate, for instance).
//
// A writer makes its stores visible with flush() (clflushopt/clwb + sfence on
// x86); a reader drops stale lines with invalidate() before reading bytes that
// another host may have written. Where the memory is coherent (one host, an
// emulated device, or coherent CXL), set_coherent(true) makes both no-ops.
#pragma once

#include <cstddef>

namespace famfs {

void set_coherent(bool coherent);
bool is_coherent();

void flush(const void* addr, size_t len);       // write back, then fence
void invalidate(const void* addr, size_t len);  // write back + drop, then fence
void store_fence();

}  // namespace famfs
