// Kernel protocol layer: request screening. libfuse 3.14 trusts the kernel's
// lengths; a request too short or malformed for it to parse safely would stop
// its loop or make it read past the request. Such requests are answered here
// (EIO / EINVAL) and never reach libfuse.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel_proto_format.h"
#include "status.h"

namespace famfs::kernel_proto {

// Checks the `n` bytes of one request and copies its header to `h`. OK if
// libfuse can parse it; EIO if it is shorter than its header; EINVAL if its
// length or body is malformed. The message is the log line's detail. The
// caller checks first that n covers `unique` (else there is nobody to answer).
Status screen_request(const uint8_t* buf, size_t n, InHeader& h);

}  // namespace famfs::kernel_proto
