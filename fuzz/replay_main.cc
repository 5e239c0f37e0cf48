// Copyright 2026 The micro-nats Authors.
//
// replay_main.cc: the main of a fuzz harness outside libFuzzer. Runs
// LLVMFuzzerTestOneInput once on every file named, or found (recursively)
// in every directory named, on the command line, so a harness's committed
// corpus replays as an ordinary test under g++, ASan and TSan. Arguments
// starting with '-' are libFuzzer flags and are skipped.
//
// Fails (exit 1) when a path cannot be read or holds no input at all; a
// defect in the code under test fails the way the harness makes it (an
// abort, a sanitizer report).

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc,
                                                          char*** argv);

namespace {

bool ReadFile(const std::filesystem::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in),
              std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.empty() || arg[0] == '-') continue;
    std::error_code error;
    if (std::filesystem::is_directory(arg, error)) {
      for (const auto& entry :
           std::filesystem::recursive_directory_iterator(arg, error)) {
        // Runfiles are symlinks: follow them.
        if (std::filesystem::is_regular_file(entry.path())) {
          files.push_back(entry.path());
        }
      }
    } else {
      files.push_back(arg);
    }
    if (error) {
      std::fprintf(stderr, "replay: cannot read %s: %s\n", arg.c_str(),
                   error.message().c_str());
      return 1;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "replay: no inputs (give files or directories)\n");
    return 1;
  }
  std::string data;
  for (const std::filesystem::path& file : files) {
    if (!ReadFile(file, &data)) {
      std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
      return 1;
    }
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", file.c_str(), data.size());
    // A copy of exactly `size` bytes (never null), as libFuzzer passes:
    // ASan sees a read past the end.
    std::unique_ptr<uint8_t[]> copy(new uint8_t[data.size()]);
    std::copy(data.begin(), data.end(), copy.get());
    LLVMFuzzerTestOneInput(copy.get(), data.size());
  }
  std::fprintf(stderr, "replay: %zu inputs, all passed\n", files.size());
  return 0;
}
