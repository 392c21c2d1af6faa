// Concurrency (issue 11): W owner processes create N files in total on one
// device (each append under the device lock) while R client processes replay
// incrementally and stat each new file as it appears.
//   concurrency [FILES=10000] [WRITERS=4] [READERS=3]
// Checks: every file is in the log exactly once (none lost, none doubled),
// every reader saw every file, with the size its writer gave, and no reader
// ever saw a torn or corrupt entry (an incomplete entry is only ever a
// not-yet-valid tail that a later replay picks up). Exits 0 when all hold.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include "famfs/error.h"
#include "famfs/fs.h"
#include "famfs/uuid.h"

using namespace famfs;

namespace {

std::string name_of(int writer, int k) { return fmt::format("w{}/f{:05d}", writer, k); }
uint64_t size_of(int writer, int k) { return 1 + static_cast<uint64_t>(writer * 7919 + k) % 4096; }

int run_writer(const std::string& dev, const std::string& uuid, int w, int count) {
    auto fs = Filesystem::open(dev, {Device::Access::ReadWrite, uuid});
    for (int k = 0; k < count; ++k) fs->create_file({name_of(w, k), size_of(w, k)});
    return 0;
}

int run_reader(const std::string& dev, const std::string& uuid, int total, int id) {
    auto fs = Filesystem::open(dev, {Device::Access::ReadOnly, uuid});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
    size_t seen = 0, torn = 0, refreshes = 0;
    while (seen < static_cast<size_t>(total)) {
        ReplayResult r = fs->refresh();
        ++refreshes;
        torn += r.torn_tail;
        const auto& files = fs->tree().files_in_log_order();
        for (; seen < files.size(); ++seen) {
            // "stat" the new file by path, as a lookup would.
            const Node* n = fs->tree().get(files[seen]);
            const std::string path = fs->tree().path_of(*n);
            const Node* again = fs->tree().resolve(path);
            int w = 0, k = 0;
            if (!again || sscanf(path.c_str(), "w%d/f%d", &w, &k) != 2 || again->size != size_of(w, k)) {
                fprintf(stderr, "reader %d: bad file '%s'\n", id, path.c_str());
                return 1;
            }
        }
        if (fs->tree().has_corruption()) {
            for (const Issue& i : fs->tree().issues())
                fprintf(stderr, "reader %d: %s\n", id, describe(i).c_str());
            return 1;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            fprintf(stderr, "reader %d: saw only %zu of %d files\n", id, seen, total);
            return 1;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    printf("reader %d: saw all %zu files in %zu refreshes (%zu not-yet-valid tails retried)\n", id,
           seen, refreshes, torn);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const int total = argc > 1 ? atoi(argv[1]) : 10000;
    const int writers = argc > 2 ? atoi(argv[2]) : 4;
    const int readers = argc > 3 ? atoi(argv[3]) : 3;
    char tmpl[] = "/tmp/famfs-conc-XXXXXX";
    const std::string dir = mkdtemp(tmpl);
    const std::string dev = dir + "/dev", owner = dir + "/owner", client = dir + "/client";
    // Each file takes one 2 MiB unit: room for every file plus the log.
    Device::create_emulated(dev, (static_cast<uint64_t>(total) + 64) * kAllocUnit, true);
    {
        Device d = Device::open(dev, Device::Access::ReadWrite);
        MkfsOptions o;
        o.system_uuid = load_system_uuid(owner);
        mkfs(d, o);
    }
    load_system_uuid(client);
    {
        auto fs = Filesystem::open(dev, {Device::Access::ReadWrite, owner});
        for (int w = 0; w < writers; ++w) fs->mkdir({fmt::format("w{}", w)});
    }
    const int per = total / writers;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<pid_t> kids;
    auto spawn = [&](auto fn) {
        pid_t p = fork();
        if (p == 0) {
            int rc = 1;
            try {
                rc = fn();
            } catch (const std::exception& e) {
                fprintf(stderr, "child: %s\n", e.what());
            }
            fflush(stdout);
            _exit(rc);
        }
        kids.push_back(p);
    };
    for (int r = 0; r < readers; ++r)
        spawn([&, r] { return run_reader(dev, client, per * writers, r); });
    for (int w = 0; w < writers; ++w) spawn([&, w] { return run_writer(dev, owner, w, per); });
    int failures = 0;
    for (pid_t p : kids) {
        int st = 0;
        waitpid(p, &st, 0);
        failures += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    // The log itself: each name exactly once, nothing damaged.
    auto fs = Filesystem::open(dev, {Device::Access::ReadOnly, client});
    std::set<std::string> names;
    size_t doubled = 0;
    for (uint64_t ino : fs->tree().files_in_log_order())
        doubled += !names.insert(fs->tree().path_of(*fs->tree().get(ino))).second;
    size_t lost = 0;
    for (int w = 0; w < writers; ++w)
        for (int k = 0; k < per; ++k) lost += !names.count(name_of(w, k));
    const bool ok = failures == 0 && lost == 0 && doubled == 0 && fs->tree().issues().empty();
    printf("concurrency: %d writers, %d readers, %d files in %.1f s: lost %zu, doubled %zu, "
           "issues %zu, failed processes %d: %s\n",
           writers, readers, per * writers, secs, lost, doubled, fs->tree().issues().size(),
           failures, ok ? "PASS" : "FAIL");
    std::filesystem::remove_all(dir);
    return ok ? 0 : 1;
}
