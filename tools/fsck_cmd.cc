// famfs fsck: check a famfs device read-only and print the report.
#include <cstdio>

#include "cli.h"
#include "famfs/error.h"
#include "famfs/fsck.h"
#include "famfs/uuid.h"
#include "show.h"

namespace famfs::cli {

namespace {

struct FsckArgs {
    std::string target;
    bool json = false;
    bool verbose = false;
};

nlohmann::json report_json(const FsckReport& r) {
    nlohmann::json j;
    j["device"] = json_text(r.device);
    j["device_size"] = r.device_size;
    j["clean"] = r.clean();
    j["superblock"] = superblock_json(r.superblock);
    j["superblock"]["valid"] = r.superblock_valid;
    if (r.log_located) {
        j["log_header"] = log_header_json(r.log_header);
        j["log_header"]["valid"] = r.log_header_valid;
        j["log_header"]["capacity"] = r.log_capacity;
    } else {
        j["log_header"] = nullptr;
    }
    j["published"] = r.published;
    j["torn_tail_retries"] = r.tail_retries;
    nlohmann::json entries = nlohmann::json::array();
    for (const FsckEntry& e : r.entries)
        entries.push_back({{"index", e.index},
                           {"seqnum", e.seqnum},
                           {"type", entry_type_name(e.type)},
                           {"crc", hex(e.stored_crc)},
                           {"computed_crc", hex(e.computed_crc)},
                           {"valid", e.valid},
                           {"path", json_text(e.path)}});
    j["entries"] = std::move(entries);
    nlohmann::json problems = nlohmann::json::array();
    for (const FsckProblem& p : r.problems) {
        nlohmann::json pj{{"where", json_text(p.where)},
                          {"kind", json_text(p.kind)},
                          {"field", json_text(p.field)},
                          {"reason", json_text(p.reason)},
                          {"message", json_text(describe(p))}};
        pj["index"] = p.index == kNoLogIndex ? nlohmann::json(nullptr) : nlohmann::json(p.index);
        problems.push_back(std::move(pj));
    }
    j["problems"] = std::move(problems);
    if (r.scanned)
        j["summary"] = {{"files", r.files},
                        {"directories", r.dirs},
                        {"total_bytes", r.total_bytes},
                        {"metadata_bytes", r.metadata_bytes},
                        {"data_used_bytes", r.data_used_bytes},
                        {"free_bytes", r.free_bytes}};
    return j;
}

void print_report(const FsckReport& r, bool verbose) {
    const Superblock& sb = r.superblock;
    std::printf("famfs fsck %s (%s)\n", r.device.c_str(), format_size(r.device_size).c_str());
    if (r.superblock_valid)
        std::printf("superblock: ok: version %llu, OMF %u.%u, fs uuid %s, owner %s, size %s\n",
                    static_cast<unsigned long long>(sb.version), sb.omf_ver_major, sb.omf_ver_minor,
                    to_string(sb.fs_uuid).c_str(), to_string(sb.system_uuid).c_str(),
                    format_size(sb.daxdev.size).c_str());
    else
        std::printf("superblock: DAMAGED\n");
    if (!r.log_located)
        std::printf("log header: not checked (the log cannot be located)\n");
    else
        std::printf("log header: %s: log %s, %llu slots, %llu entries published\n",
                    r.log_header_valid ? "ok" : "DAMAGED", format_size(r.log_len).c_str(),
                    static_cast<unsigned long long>(r.log_capacity),
                    static_cast<unsigned long long>(r.published));
    size_t valid = 0;
    for (const FsckEntry& e : r.entries) {
        valid += e.valid;
        if (verbose)
            std::printf("  entry %llu: seqnum %llu, %s, crc %s %s, %s\n",
                        static_cast<unsigned long long>(e.index),
                        static_cast<unsigned long long>(e.seqnum), entry_type_name(e.type).c_str(),
                        fmt::format("0x{:08x}", e.stored_crc).c_str(),
                        e.stored_crc == e.computed_crc ? "ok" : "BAD", e.path.c_str());
    }
    if (r.log_located)
        std::printf(
            "entries:    %zu checked, %zu valid%s\n", r.entries.size(), valid,
            r.tail_retries ? fmt::format(" (tail re-read {} times)", r.tail_retries).c_str() : "");
    if (r.scanned) {
        std::printf("tree:       %llu files, %llu directories\n",
                    static_cast<unsigned long long>(r.files),
                    static_cast<unsigned long long>(r.dirs));
        std::printf("space:      %s total, %s metadata, %s in files, %s free\n",
                    format_size(r.total_bytes).c_str(), format_size(r.metadata_bytes).c_str(),
                    format_size(r.data_used_bytes).c_str(), format_size(r.free_bytes).c_str());
    }
    for (const FsckProblem& p : r.problems) std::printf("%s\n", describe(p).c_str());
    if (r.clean())
        std::printf("clean\n");
    else
        std::printf("DAMAGED: %zu problem%s\n", r.problems.size(),
                    r.problems.size() == 1 ? "" : "s");
}

int run_fsck(const GlobalOptions& g, const FsckArgs& a) {
    const std::string device = device_of(g, a.target);
    Device dev = open_device(device, Device::Access::ReadOnly);
    const FsckReport r = fsck(dev);
    if (a.json)
        std::printf("%s\n", dump_json(report_json(r)).c_str());
    else
        print_report(r, a.verbose);
    return r.clean() ? kExitOk : kExitFailure;
}

}  // namespace

void add_fsck(CLI::App& app, GlobalOptions& g) {
    auto a = std::make_shared<FsckArgs>();
    CLI::App* cmd = add_command(
        app,
        {.name = "fsck",
         .summary = "check a famfs device (read-only): superblock, log, tree, allocation",
         .synopsis = "fsck [--json] [-v] DEVICE|MOUNTPOINT\n"
                     "--device DEV fsck [--json] [-v]",
         .description = "Opens the device read-only (it may be mounted, here or on another host)\n"
                        "and checks, without changing anything:\n"
                        "  - the superblock: magic, crc, version, log geometry, device size;\n"
                        "  - the log header: magic, crc, log length, last index, next index;\n"
                        "  - every published entry: crc, seqnum (== index), type;\n"
                        "  - the tree the entries build: valid relative paths, parents that are\n"
                        "    directories, no duplicate names, extents inside the device;\n"
                        "  - the allocation scan: no 2 MiB unit claimed by two files or by a\n"
                        "    file and the superblock/log.\n"
                        "It prints the file and directory counts and the free and used space.\n"
                        "Each problem is one line: 'superblock FIELD: reason', 'log header\n"
                        "FIELD: reason' or 'entry N: FIELD: reason'. An invalid last entry may be\n"
                        "an append in flight on another host: it is re-read 3 times, 20 ms apart,\n"
                        "before it is reported. -v lists every entry; --json prints the whole\n"
                        "report as one JSON object (clean, superblock, log_header, entries,\n"
                        "problems, summary).",
         .examples = "famfs fsck /dev/dax0.0\n"
                     "famfs fsck -v /mnt/famfs\n"
                     "famfs fsck --json /dev/dax0.0 | jq .problems",
         .exit_status = "0  the filesystem is clean\n"
                        "1  damage was found (each problem is printed)\n"
                        "2  usage error, or the device cannot be opened"},
        [&g, a] { return run_fsck(g, *a); });
    cmd->add_option("DEVICE|MOUNTPOINT", a->target, "famfs device or mount point");
    cmd->add_flag("--json", a->json, "print the report as JSON");
    cmd->add_flag("-v,--verbose", a->verbose, "list every log entry");
}

}  // namespace famfs::cli
