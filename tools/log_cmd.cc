// famfs log (alias logplay): print every entry of the metadata log.
#include <cstdio>

#include "cli.h"
#include "famfs/crc.h"
#include "famfs/error.h"
#include "famfs/log.h"
#include "famfs/uuid.h"
#include "show.h"

namespace famfs::cli {

namespace {

struct LogArgs {
    std::string target;
    bool json = false;
};

nlohmann::json entry_json(const LogEntry& e, uint64_t index) {
    nlohmann::json j;
    j["index"] = index;
    j["seqnum"] = e.seqnum;
    j["type"] = entry_type_name(static_cast<uint32_t>(e.type));
    j["crc"] = hex(e.crc);
    j["crc_ok"] = e.crc == entry_crc(e);
    if (e.type == EntryType::File) {
        const FileEntry& f = e.file;
        j["path"] = json_text(fixed_str(f.relpath, kMaxPathLen));
        j["size"] = f.size;
        j["mode"] = format_mode(f.mode);
        j["uid"] = f.uid;
        j["gid"] = f.gid;
        j["flags"] = f.flags;
        j["map"] = fmap_json(f.fmap);
    } else if (e.type == EntryType::Mkdir) {
        const MkdirEntry& d = e.mkdir;
        j["path"] = json_text(fixed_str(d.relpath, kMaxPathLen));
        j["mode"] = format_mode(d.mode);
        j["uid"] = d.uid;
        j["gid"] = d.gid;
    } else if (e.type == EntryType::AddDaxdev) {
        j["size"] = e.daxdev.size;
        j["uuid"] = to_string(e.daxdev.uuid);
        j["devindex"] = e.daxdev.index;
    }
    return j;
}

void print_entry(const LogEntry& e, uint64_t index) {
    const std::string type = entry_type_name(static_cast<uint32_t>(e.type));
    const std::string bad = e.crc == entry_crc(e) ? "" : "  [BAD CRC]";
    if (e.type == EntryType::File) {
        const FileEntry& f = e.file;
        std::printf("%5llu  %-6s %-5s %5u:%-5u %12llu  %s  %s%s\n",
                    static_cast<unsigned long long>(index), type.c_str(),
                    format_mode(f.mode).c_str(), f.uid, f.gid,
                    static_cast<unsigned long long>(f.size),
                    std::string(fixed_str(f.relpath, kMaxPathLen)).c_str(),
                    fmap_line(f.fmap).c_str(), bad.c_str());
    } else if (e.type == EntryType::Mkdir) {
        const MkdirEntry& d = e.mkdir;
        std::printf("%5llu  %-6s %-5s %5u:%-5u %12s  %s%s\n",
                    static_cast<unsigned long long>(index), type.c_str(),
                    format_mode(d.mode).c_str(), d.uid, d.gid, "-",
                    std::string(fixed_str(d.relpath, kMaxPathLen)).c_str(), bad.c_str());
    } else {
        std::printf("%5llu  %-6s%s\n", static_cast<unsigned long long>(index), type.c_str(),
                    bad.c_str());
    }
}

int run_log(const GlobalOptions& g, const LogArgs& a) {
    const std::string device = device_of(g, a.target);
    Device dev = open_device(device, Device::Access::ReadOnly);
    LogView log(dev);  // throws with the damaged field: run fsck for more
    const Superblock& sb = log.superblock();
    const LogHeader& h = log.header();
    const uint64_t n = log.published_count();

    if (a.json) {
        nlohmann::json j;
        j["device"] = json_text(device);
        j["superblock"] = superblock_json(sb);
        j["log_header"] = log_header_json(h);
        j["capacity"] = log.capacity();
        j["count"] = n;
        nlohmann::json entries = nlohmann::json::array();
        for (uint64_t i = 0; i < n; ++i) entries.push_back(entry_json(log.entry(i), i));
        j["entries"] = std::move(entries);
        std::printf("%s\n", dump_json(j).c_str());
        return kExitOk;
    }
    std::printf("device %s: fs uuid %s, owner %s\n", device.c_str(), to_string(sb.fs_uuid).c_str(),
                to_string(sb.system_uuid).c_str());
    std::printf("log: %s at %s, %llu of %llu entries used, next seqnum %llu\n",
                format_size(sb.log_len).c_str(), hex(sb.log_offset).c_str(),
                static_cast<unsigned long long>(n), static_cast<unsigned long long>(log.capacity()),
                static_cast<unsigned long long>(h.next_seqnum));
    std::printf("%5s  %-6s %-5s %11s %12s  %s\n", "index", "type", "mode", "uid:gid", "size",
                "path  map");
    for (uint64_t i = 0; i < n; ++i) print_entry(log.entry(i), i);
    return kExitOk;
}

}  // namespace

void add_log(CLI::App& app, GlobalOptions& g) {
    auto a = std::make_shared<LogArgs>();
    CLI::App* cmd = add_command(
        app,
        {.name = "log",
         .summary = "print the metadata log: header summary and every entry",
         .synopsis = "log [--json] DEVICE|MOUNTPOINT\n"
                     "logplay [--json] DEVICE|MOUNTPOINT\n"
                     "--device DEV log [--json]",
         .description =
             "Reads the log of the filesystem on DEVICE (or the device mounted at\n"
             "MOUNTPOINT) read-only and prints its header summary (fs uuid, owner, log\n"
             "size, entries used) and every published entry: index, type (FILE, MKDIR),\n"
             "mode, uid:gid, size, path and map. An entry whose crc does not match is\n"
             "marked [BAD CRC]. With --json: {device, superblock, log_header, capacity,\n"
             "count, entries: [{index, seqnum, type, crc, crc_ok, path, size, mode, uid,\n"
             "gid, flags, map}]}. Use famfs fsck to check the log.",
         .examples = "famfs log /dev/dax0.0\n"
                     "famfs logplay --json /mnt/famfs | jq '.entries[].path'",
         .exit_status = ""},
        [&g, a] { return run_log(g, *a); });
    cmd->alias("logplay");
    cmd->add_option("DEVICE|MOUNTPOINT", a->target, "famfs device or mount point");
    cmd->add_flag("--json", a->json, "print JSON");
}

}  // namespace famfs::cli
