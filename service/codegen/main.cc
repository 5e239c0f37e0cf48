// Copyright 2026 The micro-nats Authors.
//
// protoc-gen-micro-cpp: typed micro-nats clients and handlers from .proto
// services (generator.h). Run by micro_cc_library (service/defs.bzl), or
// by hand:
//   protoc --plugin=protoc-gen-micro_cpp=PATH --micro_cpp_out=OUT x.proto

#include <google/protobuf/compiler/plugin.h>

#include "service/codegen/generator.h"

int main(int argc, char** argv) {
  micro_nats::service::codegen::MicroGenerator generator;
  return google::protobuf::compiler::PluginMain(argc, argv, &generator);
}
