// Copyright 2026 The micro-nats Authors.

#include "srv/testing/schema.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace micro_nats::srv::testing {
namespace {

std::string Runfile(absl::string_view path) {
  const char* root = std::getenv("TEST_SRCDIR");
  return absl::StrCat(root == nullptr ? "." : root, "/micro_nats/", path);
}

}  // namespace

absl::Status CheckAgainstSchema(Verb verb, absl::string_view json) {
  static std::atomic<int> counter{0};
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string file =
      absl::StrCat(tmp == nullptr ? "/tmp" : tmp, "/srv_answer_",
                   counter.fetch_add(1), ".json");
  {
    std::ofstream out(file);
    out << json;
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", file));
  }
  const std::string command =
      absl::StrCat("/usr/bin/python3 ", Runfile("srv/testing/check_schema.py"),
                   " ", Runfile("srv/testdata/schemas"), " ",
                   absl::AsciiStrToLower(VerbName(verb)), " ", file, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError("cannot run " + command);
  std::string output;
  char buffer[512];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    output.append(buffer, n);
  }
  const int status = pclose(pipe);
  if (status == 0) return absl::OkStatus();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
    return absl::InvalidArgumentError(absl::StrCat(output, "in: ", json));
  }
  return absl::InternalError(
      absl::StrCat("the schema checker failed (", status, "): ", output));
}

}  // namespace micro_nats::srv::testing
