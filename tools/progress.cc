#include "progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "cli.h"

namespace famfs::cli {

Progress::Progress(std::string what, uint64_t total_bytes, uint64_t total_files, bool quiet)
    : what_(std::move(what)),
      total_bytes_(total_bytes),
      total_files_(total_files),
      enabled_(!quiet && isatty(STDOUT_FILENO)),
      start_(Clock::now()),
      last_(start_) {}

void Progress::add(uint64_t bytes, uint64_t files) {
    bytes_ += bytes;
    files_ += files;
    if (!enabled_) return;
    const auto now = Clock::now();
    // Nothing for quick commands; then at most 5 redraws a second.
    if (now - start_ < std::chrono::milliseconds(300) ||
        now - last_ < std::chrono::milliseconds(200))
        return;
    last_ = now;
    draw();
}

void Progress::draw() {
    const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
    const double rate = secs > 0 ? bytes_ / secs : 0;
    std::string line =
        fmt::format("{}: {} of {}", what_, human_size(bytes_), human_size(total_bytes_));
    if (total_bytes_) line += fmt::format(" ({}%)", bytes_ * 100 / total_bytes_);
    if (total_files_ > 1) line += fmt::format(", {} of {} files", files_, total_files_);
    line += fmt::format(", {}/s", human_size(static_cast<uint64_t>(rate)));
    if (rate > 0 && total_bytes_ > bytes_) {
        const auto eta = static_cast<uint64_t>((total_bytes_ - bytes_) / rate);
        line += fmt::format(", ETA {}:{:02}", eta / 60, eta % 60);
    }
    std::printf("\r%s\033[K", line.c_str());
    std::fflush(stdout);
    drawn_ = true;
}

void Progress::finish() {
    if (!drawn_) return;
    std::printf("\r\033[K");
    std::fflush(stdout);
    drawn_ = false;
}

}  // namespace famfs::cli
