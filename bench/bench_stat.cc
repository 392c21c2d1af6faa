// famfs-bench-stat: stat(2) of DIR/f0 .. DIR/f{COUNT-1}, timed in one loop
// of this process (no process per file, no interpreter), so the figure is
// the filesystem's. Prints "stat N files/s (COUNT files, S s)".
//
//   famfs-bench-stat DIR COUNT [--threads N] [--offset K]
//
// --threads N splits the names into N contiguous parts, one thread each.
// --offset K stats f{K} .. f{K+COUNT-1}. A failing stat is an error (exit 1).
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: famfs-bench-stat DIR COUNT [--threads N] [--offset K]\n");
        return 2;
    }
    const std::string dir = argv[1];
    const size_t count = std::strtoull(argv[2], nullptr, 10);
    size_t threads = 1, offset = 0;
    for (int i = 3; i + 1 < argc; i += 2) {
        std::string_view a = argv[i];
        if (a == "--threads") threads = std::max<size_t>(1, std::strtoull(argv[i + 1], nullptr, 10));
        if (a == "--offset") offset = std::strtoull(argv[i + 1], nullptr, 10);
    }
    std::vector<std::string> names;
    names.reserve(count);
    for (size_t i = 0; i < count; ++i) names.push_back(dir + "/f" + std::to_string(offset + i));
    std::vector<int> failed(threads, 0);
    auto run = [&](size_t t) {
        const size_t lo = count * t / threads, hi = count * (t + 1) / threads;
        struct stat st;
        for (size_t i = lo; i < hi; ++i)
            if (stat(names[i].c_str(), &st) != 0) {
                std::perror(names[i].c_str());
                failed[t] = 1;
                return;
            }
    };
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; ++t) pool.emplace_back(run, t);
    run(0);
    for (auto& th : pool) th.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (int f : failed)
        if (f) return 1;
    std::printf("stat %.0f files/s (%zu files, %.3f s, %zu thread%s)\n", count / s, count, s,
                threads, threads == 1 ? "" : "s");
    return 0;
}
