#include "famfs/mountinfo.h"

#include <limits.h>
#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "famfs/error.h"

namespace famfs {

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            out +=
                static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

bool under(const std::string& path, const std::string& mnt) {
    if (mnt == "/") return true;
    return path == mnt || (path.size() > mnt.size() && path.compare(0, mnt.size(), mnt) == 0 &&
                           path[mnt.size()] == '/');
}

}  // namespace

std::vector<MountEntry> famfs_mounts(const std::string& mountinfo) {
    std::vector<MountEntry> out;
    std::ifstream in(mountinfo);
    std::string line;
    while (std::getline(in, line)) {
        // id parent maj:min root mountpoint opts [optional...] - fstype source superopts
        std::istringstream ss(line);
        std::string id, parent, devno, root, mnt, opts, tok;
        ss >> id >> parent >> devno >> root >> mnt >> opts;
        while (ss >> tok && tok != "-") {
        }
        MountEntry e;
        ss >> e.fstype >> e.source >> e.options;
        if (e.fstype != kFuseFsType) continue;
        e.mountpoint = unescape(mnt);
        e.source = unescape(e.source);
        out.push_back(std::move(e));
    }
    return out;
}

Target resolve_target(const std::string& path, const std::string& device) {
    Target t;
    if (!device.empty()) {
        t.device = device;
        std::string rel = path;
        while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
        while (!rel.empty() && rel.back() == '/') rel.pop_back();
        t.relpath = rel;
        return t;
    }
    // The path may not exist yet (creat, mkdir): resolve the longest existing
    // prefix and append the rest.
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path abs = fs::absolute(path, ec);
    fs::path existing = abs, rest;
    while (!existing.empty() && !fs::exists(existing, ec)) {
        rest = existing.filename() / rest;
        existing = existing.parent_path();
    }
    fs::path canon = fs::canonical(existing, ec);
    if (ec) canon = existing;
    std::string full = (rest.empty() ? canon : canon / rest).lexically_normal().string();
    while (full.size() > 1 && full.back() == '/') full.pop_back();

    const MountEntry* best = nullptr;
    auto mounts = famfs_mounts();
    for (const auto& m : mounts)
        if (under(full, m.mountpoint) && (!best || m.mountpoint.size() > best->mountpoint.size()))
            best = &m;
    if (!best)
        fail(EINVAL,
             "{} is not under a famfs mount; mount one (famfs mount DEVICE DIR) or name "
             "the device with --device DEV",
             path);
    t.device = best->source;
    t.mountpoint = best->mountpoint;
    t.relpath = full.size() > best->mountpoint.size()
                    ? full.substr(best->mountpoint == "/" ? 1 : best->mountpoint.size() + 1)
                    : std::string();
    return t;
}

}  // namespace famfs
