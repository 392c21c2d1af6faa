// Writes the fuzz seed corpora at run time (nothing binary is committed):
//   fuzz_seeds OUTDIR [IMAGE...]
// From each famfs image given (the golden upstream images) and from one
// populated by our own library here, it writes OUTDIR/superblock/* (superblock
// + log header), OUTDIR/replay/* (the published entries, raw and crc-fixing),
// plus small hand-made seeds for OUTDIR/json and OUTDIR/alloc.
#include <linux/fuse.h>
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
    for (const char* d : {"superblock", "replay", "json", "alloc", "screen"})
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

    // Requests as the kernel sends them: header (40 bytes) + body.
    auto request = [&](uint32_t opcode, const std::vector<uint8_t>& body) {
        std::vector<uint8_t> r(40 + body.size());
        const uint32_t len = static_cast<uint32_t>(r.size());
        const uint64_t unique = 2, nodeid = 1;
        std::memcpy(r.data(), &len, 4);
        std::memcpy(r.data() + 4, &opcode, 4);
        std::memcpy(r.data() + 8, &unique, 8);
        std::memcpy(r.data() + 16, &nodeid, 8);
        std::copy(body.begin(), body.end(), r.begin() + 40);
        write(out / "screen" / std::to_string(k++), r.data(), r.size());
    };
    request(FUSE_LOOKUP, {'f', 'i', 'l', 'e', 0});
    request(FUSE_GETATTR, std::vector<uint8_t>(sizeof(fuse_getattr_in)));
    request(FUSE_READ, std::vector<uint8_t>(sizeof(fuse_read_in)));
    request(FUSE_OPEN, std::vector<uint8_t>(sizeof(fuse_open_in)));
    std::vector<uint8_t> rename(sizeof(fuse_rename2_in));
    for (char c : std::string("a\0b\0", 4)) rename.push_back(static_cast<uint8_t>(c));
    request(FUSE_RENAME2, rename);
    std::vector<uint8_t> forget(sizeof(fuse_batch_forget_in) + 2 * sizeof(fuse_forget_one));
    forget[0] = 2;
    request(FUSE_BATCH_FORGET, forget);
    std::vector<uint8_t> xattr(sizeof(fuse_getxattr_in));
    for (char c : std::string("user.famfs.stats")) xattr.push_back(static_cast<uint8_t>(c));
    xattr.push_back(0);
    request(FUSE_GETXATTR, xattr);
    request(54, {});  // GET_FMAP: header only
    request(FUSE_INIT, std::vector<uint8_t>(64));
    return 0;
}
