// Writes the fuzz seed corpora at run time (nothing binary is committed):
//   fuzz_seeds OUTDIR [IMAGE...]
// From each famfs image given (the golden upstream images) and from one
// populated by our own library here, it writes OUTDIR/superblock/* (superblock
// + log header), OUTDIR/replay/* (the published entries, raw and crc-fixing),
// plus small hand-made seeds for OUTDIR/json and OUTDIR/alloc.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "famfs/device.h"
#include "famfs/fs.h"
#include "famfs/uuid.h"

using namespace famfs;
namespace fsys = std::filesystem;

namespace {

void write(const fsys::path& p, const void* data, size_t n) {
    std::ofstream(p, std::ios::binary).write(static_cast<const char*>(data), std::streamsize(n));
}

void from_image(const fsys::path& out, const std::string& name, const std::string& image) {
    Device d = Device::open(image, Device::Access::ReadOnly);
    std::string sb(reinterpret_cast<const char*>(d.base()), sizeof(Superblock));
    sb.append(reinterpret_cast<const char*>(d.base() + kLogOffset), sizeof(LogHeader));
    write(out / "superblock" / name, sb.data(), sb.size());
    const auto* h = d.at<LogHeader>(kLogOffset);
    const uint64_t n = std::min<uint64_t>(h->next_index, 64);
    if (!n) return;
    for (char flag : {'\0', '\1'}) {
        std::string r(1, flag);
        r.append(reinterpret_cast<const char*>(d.base() + kLogOffset + entry_offset(0)),
                 n * sizeof(LogEntry));
        write(out / "replay" / (name + (flag ? "-fixcrc" : "")), r.data(), r.size());
    }
}

std::string our_image(const fsys::path& tmp) {
    const std::string dev = (tmp / "ours.img").string();
    const std::string uuid = (tmp / "uuid").string();
    Device::create_emulated(dev, 8ULL << 30, true);  // sparse: room for 8 buckets
    {
        Device d = Device::open(dev, Device::Access::ReadWrite);
        MkfsOptions o;
        o.system_uuid = load_system_uuid(uuid);
        mkfs(d, o);
    }
    auto fs = Filesystem::open(dev, {Device::Access::ReadWrite, uuid});
    fs->mkdir({"d", 0750, 1, 2});
    fs->mkdir_p({"d/e/f"});
    fs->create_file({"d/one", 4096, 0600});
    fs->create_file({"d/e/two", 5 << 20});
    FileSpec s{"striped", 48 << 20};
    s.interleave = InterleaveParams{4, 8, 2 << 20};
    fs->create_file(s);
    return dev;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz_seeds OUTDIR [IMAGE...]\n");
        return 2;
    }
    const fsys::path out = argv[1];
    for (const char* d : {"superblock", "replay", "json", "alloc"})
        fsys::create_directories(out / d);
    for (int i = 2; i < argc; ++i)
        from_image(out, fsys::path(argv[i]).filename().string(), argv[i]);
    const fsys::path tmp = out / "tmp";
    fsys::create_directories(tmp);
    from_image(out, "ours", our_image(tmp));
    fsys::remove_all(tmp);

    const char* names[] = {"dir1/sub/f2", "caf\xc3\xa9", "bad\xff\xfe", "\xed\xa0\x80",
                           "quote\"back\\slash\n", "\xf4\x90\x80\x80"};
    int k = 0;
    for (const char* s : names) write(out / "json" / std::to_string(k++), s, strlen(s));
    const uint64_t alloc_seeds[][5] = {
        {5 << 20, 0, 0, 0, 10},
        {512ULL << 20, 4, 8, 2 << 20, 1000},
        {~0ULL, 16, 16, 1ULL << 63, 4000},
        {~0ULL - 0x1fffff, 1, 1, 2 << 20, 100},
    };
    for (const auto& v : alloc_seeds) write(out / "alloc" / std::to_string(k++), v, sizeof v);
    return 0;
}
