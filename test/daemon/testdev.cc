// famfs-testdev: the few device operations the daemon's tests need, straight
// on libfamfs (so the daemon's tests do not depend on the CLI):
//   famfs-testdev mkfs DEV SIZE_MIB          (owner = this host's uuid file)
//   famfs-testdev creat DEV RELPATH SIZE [SEED]   (SEED: fill with the pattern)
//   famfs-testdev mkdir DEV RELPATH
//   famfs-testdev verify DEV RELPATH SEED     (checks the pattern through the device)
// The host's uuid comes from $FAMFS_SYSTEM_UUID_FILE as everywhere else.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "famfs/device.h"
#include "famfs/error.h"
#include "famfs/fs.h"
#include "famfs/pattern.h"
#include "famfs/uuid.h"

namespace {

uint64_t parse_size(const std::string& s) {
    char* end = nullptr;
    uint64_t v = std::strtoull(s.c_str(), &end, 0);
    switch (*end) {
        case 'k':
        case 'K':
            v <<= 10;
            break;
        case 'm':
        case 'M':
            v <<= 20;
            break;
        case 'g':
        case 'G':
            v <<= 30;
            break;
        default:
            break;
    }
    return v;
}

int run(const std::vector<std::string>& a) {
    if (a.size() >= 3 && a[0] == "mkfs") {
        famfs::Device::create_emulated(a[1], std::stoull(a[2]) << 20, true);
        famfs::Device d = famfs::Device::open(a[1], famfs::Device::Access::ReadWrite);
        famfs::MkfsOptions o;
        o.force = true;
        o.system_uuid = famfs::load_system_uuid();
        famfs::mkfs(d, o);
        return 0;
    }
    if (a.size() >= 4 && a[0] == "creat") {
        auto fs = famfs::Filesystem::open(a[1], {famfs::Device::Access::ReadWrite, {}});
        famfs::FileSpec spec;
        spec.relpath = a[2];
        spec.size = parse_size(a[3]);
        const famfs::Node& n = fs->create_file(spec);
        if (a.size() >= 5) {
            const uint64_t seed = std::stoull(a[4]);
            std::vector<uint8_t> buf(1 << 20);
            for (uint64_t off = 0; off < n.size; off += buf.size()) {
                const size_t len = std::min<uint64_t>(buf.size(), n.size - off);
                famfs::fill_pattern(buf.data(), off, len, seed);
                fs->write_data(n, off, buf.data(), len);
            }
        }
        return 0;
    }
    if (a.size() >= 3 && a[0] == "mkdir") {
        auto fs = famfs::Filesystem::open(a[1], {famfs::Device::Access::ReadWrite, {}});
        famfs::DirSpec spec;
        spec.relpath = a[2];
        fs->mkdir_p(spec);
        return 0;
    }
    if (a.size() >= 4 && a[0] == "verify") {
        auto fs = famfs::Filesystem::open(a[1], {famfs::Device::Access::ReadOnly, {}});
        const famfs::Node* n = fs->tree().resolve(a[2]);
        if (!n) famfs::fail(ENOENT, "{}: no such file", a[2]);
        std::vector<uint8_t> buf(1 << 20);
        for (uint64_t off = 0; off < n->size; off += buf.size()) {
            const size_t len = std::min<uint64_t>(buf.size(), n->size - off);
            fs->read_data(*n, off, buf.data(), len);
            if (auto bad = famfs::check_pattern(buf.data(), off, len, std::stoull(a[3]))) {
                std::fprintf(stderr, "famfs-testdev: %s differs at offset %llu\n", a[2].c_str(),
                             static_cast<unsigned long long>(*bad));
                return 1;
            }
        }
        return 0;
    }
    std::fprintf(stderr,
                 "usage: famfs-testdev mkfs DEV SIZE_MIB | creat DEV PATH SIZE [SEED] | mkdir DEV "
                 "PATH | verify DEV PATH SEED\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "famfs-testdev: %s\n", e.what());
        return 1;
    }
}
