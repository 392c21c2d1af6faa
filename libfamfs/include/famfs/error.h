// Errors in libfamfs are exceptions that carry an errno and a one-line message
// meant for a user ("what was wrong and what to do"). The CLI prints the
// message and exits; the daemon maps the errno onto its FUSE reply.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace famfs {

class Error : public std::runtime_error {
public:
    Error(int err, const std::string& msg) : std::runtime_error(msg), errno_(err) {}
    int err() const { return errno_; }

private:
    int errno_;
};

// Error(errno, fmt, args...) in one call.
template <typename... Args>
[[noreturn]] void fail(int err, fmt::format_string<Args...> f, Args&&... args) {
    throw Error(err, fmt::format(f, std::forward<Args>(args)...));
}

// For a failed system call: appends strerror(errno).
[[noreturn]] void fail_errno(const std::string& what);

}  // namespace famfs
