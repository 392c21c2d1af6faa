// The daemon's error value, in the manner of leveldb/status.h: OK, or a
// positive errno (what the FUSE reply carries) plus a one-line message that
// says what was wrong. Every fallible call in daemon/ and the kernel protocol
// layer returns one; libfamfs and the CLI keep their exceptions.
#pragma once

#include <string>
#include <utility>

namespace famfs {

class [[nodiscard]] Status {
public:
    Status() = default;  // OK
    static Status OK() { return {}; }
    // `err` is a positive errno; `message` may be empty when the errno says it all.
    static Status Error(int err, std::string message = {}) { return Status(err, std::move(message)); }

    bool ok() const { return err_ == 0; }
    int err() const { return err_; }  // 0 when ok()
    const std::string& message() const { return message_; }

private:
    Status(int err, std::string message) : err_(err), message_(std::move(message)) {}
    int err_ = 0;
    std::string message_;
};

}  // namespace famfs
