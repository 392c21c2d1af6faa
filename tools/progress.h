// A one-line progress display for long commands (cp -r, seeded creat,
// verify), as rsync --progress and pv show it: bytes and files done, rate and
// ETA, redrawn in place at most 5 times a second. Silent unless stdout is a
// terminal, and with -q.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace famfs::cli {

class Progress {
public:
    Progress(std::string what, uint64_t total_bytes, uint64_t total_files, bool quiet);
    ~Progress() { finish(); }
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void add(uint64_t bytes, uint64_t files = 0);
    // Clears the line, so that what follows starts on a clean line.
    void finish();

private:
    void draw();

    using Clock = std::chrono::steady_clock;
    std::string what_;
    uint64_t total_bytes_, total_files_;
    uint64_t bytes_ = 0, files_ = 0;
    bool enabled_;
    bool drawn_ = false;
    Clock::time_point start_, last_;
};

}  // namespace famfs::cli
