// libfamfs-internal: what device.cc knows about DAX devices (via libdaxctl),
// for device_mount.cc.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace famfs {

// Size of the DAX device behind `rdev` (0 if none) and its alignment.
uint64_t dax_size_of(dev_t rdev, uint64_t& align);

}  // namespace famfs
