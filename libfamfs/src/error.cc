#include "famfs/error.h"

#include <cerrno>
#include <cstring>

namespace famfs {

void fail_errno(const std::string& what) {
    int err = errno;
    throw Error(err, what + ": " + std::strerror(err));
}

}  // namespace famfs
