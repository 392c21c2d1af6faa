// The image both corruption sweeps (corruption_sweep.cc, daemon_sweep.cc)
// flip bytes of: one log entry of each type,
//   entry 0 MKDIR "dir", 1 FILE "dir/simple" (simple extent),
//   2 FILE "striped" (interleaved), 3 ADD_DAXDEV, 4 FILE "after".
// libfamfs never writes ADD_DAXDEV, so entry 3 is placed by hand: "after" is
// created at index 3 and moved to 4.
#pragma once

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "famfs/crc.h"
#include "famfs/error.h"
#include "famfs/fs.h"
#include "famfs/uuid.h"

namespace famfs::sweep {

struct Image {
    std::string dir;          // a fresh temporary directory holding the rest
    std::string path;         // the emulated device (sparse)
    std::string owner_uuid;   // system uuid file of the host that wrote it
    std::string client_uuid;  // another host's uuid file (created)
};

inline Image make_image(const std::string& tmp_prefix, uint64_t dev_size) {
    std::string tmpl = "/tmp/" + tmp_prefix + "-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw Error(errno, "mkdtemp " + tmpl + ": " + strerror(errno));
    Image im{tmpl, tmpl + "/dev", tmpl + "/uuid", tmpl + "/client"};
    Device::create_emulated(im.path, dev_size, true);  // sparse
    {
        Device d = Device::open(im.path, Device::Access::ReadWrite);
        MkfsOptions o;
        o.system_uuid = load_system_uuid(im.owner_uuid);
        mkfs(d, o);
    }
    {
        auto fs = Filesystem::open(im.path, {Device::Access::ReadWrite, im.owner_uuid});
        fs->mkdir({"dir", 0750, 1, 2});
        fs->create_file({"dir/simple", 5 << 20, 0640});
        FileSpec s{"striped", 24 << 20};
        s.interleave = InterleaveParams{4, 8, 2 << 20};
        fs->create_file(s);
        fs->create_file({"after", 4096});
    }
    {
        Device d = Device::open(im.path, Device::Access::ReadWrite);
        Log* log = d.at<Log>(kLogOffset);
        log->entries[4] = log->entries[3];
        log->entries[4].seqnum = 4;
        log->entries[4].crc = entry_crc(log->entries[4]);
        LogEntry& a = log->entries[3];
        std::memset(&a, 0, sizeof a);
        a.seqnum = 3;
        a.type = EntryType::AddDaxdev;
        a.daxdev.size = dev_size;
        a.daxdev.uuid = random_uuid();
        a.daxdev.index = 1;
        a.crc = entry_crc(a);
        log->header.next_index = log->header.next_seqnum = 5;
    }
    load_system_uuid(im.client_uuid);
    return im;
}

}  // namespace famfs::sweep
