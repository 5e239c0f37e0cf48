// Copyright 2026 The micro-nats Authors.

#include "service/codegen/generator.h"

#include <google/protobuf/compiler/cpp/names.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/printer.h>
#include <google/protobuf/io/zero_copy_stream.h>

#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace micro_nats::service::codegen {
namespace {

using google::protobuf::FileDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;
using google::protobuf::SourceLocation;
using google::protobuf::io::Printer;
using Vars = std::map<std::string, std::string>;

std::string Qualified(const google::protobuf::Descriptor* message) {
  // Already fully qualified ("::pkg::Outer_Inner").
  return google::protobuf::compiler::cpp::QualifiedClassName(message);
}

std::string Base(const FileDescriptor* file) {
  return google::protobuf::compiler::cpp::StripProto(file->name());
}

std::vector<std::string> Namespaces(const FileDescriptor* file) {
  if (file->package().empty()) return {};
  return absl::StrSplit(file->package(), '.');
}

std::string Guard(const FileDescriptor* file, absl::string_view suffix) {
  std::string guard = absl::StrCat(Base(file), suffix);
  for (char& c : guard) {
    c = absl::ascii_isalnum(static_cast<unsigned char>(c))
            ? absl::ascii_toupper(static_cast<unsigned char>(c))
            : '_';
  }
  return guard + "_";
}

// The leading comment of `descriptor` in the .proto, as C++ comment lines
// at `indent`, or nothing.
template <typename Descriptor>
std::string Comment(const Descriptor* descriptor, absl::string_view indent) {
  SourceLocation location;
  if (!descriptor->GetSourceLocation(&location)) return "";
  std::string text(
      absl::StripTrailingAsciiWhitespace(location.leading_comments));
  if (text.empty()) return "";
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    absl::string_view stripped = absl::StripTrailingAsciiWhitespace(line);
    if (!stripped.empty() && stripped[0] == ' ') stripped.remove_prefix(1);
    absl::StrAppend(&out, indent, stripped.empty() ? "//" : "// ", stripped,
                    "\n");
  }
  return out;
}

// Whether the .proto marks `method` idempotent: option idempotency_level
// NO_SIDE_EFFECTS or IDEMPOTENT.
bool Idempotent(const MethodDescriptor* method) {
  return method->options().idempotency_level() !=
         google::protobuf::MethodOptions::IDEMPOTENCY_UNKNOWN;
}

Vars MethodVars(const MethodDescriptor* method) {
  const bool idempotent = Idempotent(method);
  return {{"method", method->name()},
          {"service", method->service()->name()},
          {"request", Qualified(method->input_type())},
          {"response", Qualified(method->output_type())},
          {"request_full", method->input_type()->full_name()},
          {"response_full", method->output_type()->full_name()},
          // Its endpoint is registered idempotent (published as endpoint
          // metadata "idempotent": "true"). That is how clients learn it: the
          // registry's word is the lowest of theirs (retry.h), so a caller's
          // CallOptions::idempotent and an operator's ClientOptions::policies
          // still decide; the generated client marks nothing itself.
          {"endpoint_options",
           idempotent ? ",\n          {.idempotent = true}" : ""}};
}

// What an rpc is: unary, or which way it streams.
enum class Kind { kUnary, kServerStreaming, kClientStreaming, kBidi };

Kind KindOf(const MethodDescriptor* method) {
  if (method->client_streaming()) {
    return method->server_streaming() ? Kind::kBidi : Kind::kClientStreaming;
  }
  return method->server_streaming() ? Kind::kServerStreaming : Kind::kUnary;
}

bool Streams(const FileDescriptor* file) {
  for (int i = 0; i < file->service_count(); ++i) {
    for (int j = 0; j < file->service(i)->method_count(); ++j) {
      if (KindOf(file->service(i)->method(j)) != Kind::kUnary) return true;
    }
  }
  return false;
}

// What is written per rpc, by its kind. Only `unary` is needed: a kind
// without its own template (empty) is written with `unary`'s.
struct ByKind {
  std::string unary;
  std::string server_streaming;
  std::string client_streaming;
  std::string bidi;

  const char* For(const MethodDescriptor* method) const {
    const std::string* chosen = &unary;
    switch (KindOf(method)) {
      case Kind::kUnary:
        break;
      case Kind::kServerStreaming:
        chosen = &server_streaming;
        break;
      case Kind::kClientStreaming:
        chosen = &client_streaming;
        break;
      case Kind::kBidi:
        chosen = &bidi;
        break;
    }
    return (chosen->empty() ? unary : *chosen).c_str();
  }
};

void OpenNamespaces(Printer& p, const FileDescriptor* file) {
  for (const std::string& ns : Namespaces(file)) {
    p.Print("namespace $ns$ {\n", "ns", ns);
  }
  if (!Namespaces(file).empty()) p.Print("\n");
}

void CloseNamespaces(Printer& p, const FileDescriptor* file) {
  std::vector<std::string> names = Namespaces(file);
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    p.Print("}  // namespace $ns$\n", "ns", *it);
  }
}

// `head` (with $service$ and $full$, the service's full name), then
// `method` (its kind's) once per rpc with MethodVars, then `tail`: the
// shape of every block the generator writes per service.
void PrintPerMethod(Printer& p, const ServiceDescriptor* service,
                    const char* head, const ByKind& method, const char* tail) {
  p.Print(head, "service", service->name(), "full", service->full_name());
  for (int i = 0; i < service->method_count(); ++i) {
    p.Print(MethodVars(service->method(i)), method.For(service->method(i)));
  }
  p.Print(tail);
}

void PrintNames(Printer& p, const ServiceDescriptor* service) {
  PrintPerMethod(
      p, service,
      "// The names of service $service$: what the registry and the wire\n"
      "// call its endpoints and types.\n"
      "struct $service$Names {\n"
      "  static constexpr char kFullName[] = \"$full$\";\n"
      "  static constexpr char kName[] = \"$service$\";\n",
      {"  static constexpr char k$method$[] = \"$service$.$method$\";\n"
       "  static constexpr char k$method$RequestType[] = "
       "\"$request_full$\";\n"
       "  static constexpr char k$method$ResponseType[] = "
       "\"$response_full$\";\n"},
      "};\n\n");
}

// The service's own comment, then a blank comment line.
void PrintServiceComment(Printer& p, const ServiceDescriptor* service) {
  const std::string comment = Comment(service, "");
  if (!comment.empty()) p.Print("$comment$//\n", "comment", comment);
}

// An abstract class: the service's comment, then `head` (the class's own
// comment, its name line and virtual destructor), then per rpc its comment
// and `method` (its kind's: pure virtuals), all with MethodVars.
void PrintInterface(Printer& p, const ServiceDescriptor* service,
                    const char* head, const ByKind& method) {
  PrintServiceComment(p, service);
  p.Print(head, "service", service->name());
  for (int i = 0; i < service->method_count(); ++i) {
    p.Print("\n$comment$", "comment", Comment(service->method(i), "  "));
    p.Print(MethodVars(service->method(i)), method.For(service->method(i)));
  }
  p.Print("};\n\n");
}

// The typed stream of a streaming rpc, named $method$Stream in the class
// that declares it; `stream_class`: ClientStreamOf or ServerStreamOf.
std::string StreamAlias(absl::string_view stream_class) {
  return absl::StrCat("  using $method$Stream = ::micro_nats::service::",
                      stream_class, "<\n      $request$, $response$>;\n");
}

void PrintClient(Printer& p, const ServiceDescriptor* service) {
  PrintInterface(
      p, service,
      "// What a caller of $service$ uses; Mock$service$Client (in the\n"
      "// _mock target) implements it for tests.\n"
      "class $service$ClientInterface {\n"
      " public:\n"
      "  virtual ~$service$ClientInterface() = default;\n",
      {.unary = "  virtual absl::StatusOr<$response$> $method$(\n"
                "      const $request$& request,\n"
                "      ::micro_nats::service::CallOptions options = {}) = 0;\n"
                "  // $method$ on the client's async pool; `done` gets the "
                "answer.\n"
                "  virtual void $method$Async(\n"
                "      const $request$& request,\n"
                "      ::micro_nats::service::CallOptions options,\n"
                "      std::function<void(absl::StatusOr<$response$>)> done) = "
                "0;\n",
       .server_streaming = absl::StrCat(
           StreamAlias("ClientStreamOf"),
           "  // Sends `request` and half-closes: Recv the responses until\n"
           "  // OutOfRange (the end) or another error (the handler's).\n"
           "  virtual absl::StatusOr<$method$Stream> $method$(\n"
           "      const $request$& request,\n"
           "      ::micro_nats::service::StreamOptions options = {}) = 0;\n"),
       .client_streaming = absl::StrCat(
           StreamAlias("ClientStreamOf"),
           "  // Opens the stream: Send the requests, then CloseAndRecv the\n"
           "  // response.\n"
           "  virtual absl::StatusOr<$method$Stream> $method$(\n"
           "      ::micro_nats::service::StreamOptions options = {}) = 0;\n"),
       .bidi = absl::StrCat(
           StreamAlias("ClientStreamOf"),
           "  // Opens the stream: Send and Recv (from two threads if need "
           "be),\n"
           "  // CloseSend after the last request.\n"
           "  virtual absl::StatusOr<$method$Stream> $method$(\n"
           "      ::micro_nats::service::StreamOptions options = {}) = 0;\n")});
  const char* open_stream =
      "\n"
      "  absl::StatusOr<$method$Stream> $method$(\n"
      "      ::micro_nats::service::StreamOptions options = {}) override {\n"
      "    return client_.Stream<$request$, $response$>(\n"
      "        service_, $service$Names::k$method$, std::move(options));\n"
      "  }\n";
  PrintPerMethod(
      p, service,
      "// Calls $service$ through a micro-nats client: lookup, selection,\n"
      "// retries and the deadline are the client's (service/client.h).\n"
      "class $service$Client : public $service$ClientInterface {\n"
      " public:\n"
      "  // `service` is the name the server registers under; `client` must\n"
      "  // outlive this object.\n"
      "  $service$Client(::micro_nats::service::Client& client, "
      "std::string service)\n"
      "      : client_(client), service_(std::move(service)) {}\n",
      {.unary =
           "\n"
           "  absl::StatusOr<$response$> $method$(\n"
           "      const $request$& request,\n"
           "      ::micro_nats::service::CallOptions options = {}) override "
           "{\n"
           "    return client_.Call<$request$, $response$>(\n"
           "        service_, $service$Names::k$method$, request, "
           "std::move(options));\n"
           "  }\n"
           "  void $method$Async(\n"
           "      const $request$& request,\n"
           "      ::micro_nats::service::CallOptions options,\n"
           "      std::function<void(absl::StatusOr<$response$>)> done) "
           "override {\n"
           "    client_.CallAsync<$request$, $response$>(\n"
           "        service_, $service$Names::k$method$, request, "
           "std::move(options),\n"
           "        std::move(done));\n"
           "  }\n",
       .server_streaming =
           "\n"
           "  absl::StatusOr<$method$Stream> $method$(\n"
           "      const $request$& request,\n"
           "      ::micro_nats::service::StreamOptions options = {}) override "
           "{\n"
           "    absl::StatusOr<$method$Stream> stream =\n"
           "        client_.Stream<$request$, $response$>(\n"
           "            service_, $service$Names::k$method$, "
           "std::move(options));\n"
           "    if (!stream.ok()) return stream;\n"
           "    absl::Status sent = stream->Send(request);\n"
           "    if (sent.ok()) sent = stream->CloseSend();\n"
           "    if (!sent.ok()) return sent;\n"
           "    return stream;\n"
           "  }\n",
       .client_streaming = open_stream,
       .bidi = open_stream},
      "\n"
      " private:\n"
      "  ::micro_nats::service::Client& client_;\n"
      "  const std::string service_;\n"
      "};\n\n");
}

void PrintHandler(Printer& p, const ServiceDescriptor* service) {
  PrintInterface(
      p, service,
      "// What a server of $service$ implements; register it with\n"
      "// Register$service$Handler.\n"
      "class $service$Handler {\n"
      " public:\n"
      "  virtual ~$service$Handler() = default;\n",
      {.unary = "  virtual absl::Status $method$(\n"
                "      ::micro_nats::service::Context& ctx,\n"
                "      const $request$& request,\n"
                "      $response$* response) = 0;\n",
       .server_streaming = absl::StrCat(
           StreamAlias("ServerStreamOf"),
           "  // `request` is the caller's; Send the responses on `stream`.\n"
           "  // What this returns ends the stream.\n"
           "  virtual absl::Status $method$(\n"
           "      ::micro_nats::service::Context& ctx,\n"
           "      const $request$& request,\n"
           "      $method$Stream& stream) = 0;\n"),
       .client_streaming = absl::StrCat(
           StreamAlias("ServerStreamOf"),
           "  // Recv the requests until OutOfRange (the caller is done);\n"
           "  // `response` is sent when this returns OK.\n"
           "  virtual absl::Status $method$(\n"
           "      ::micro_nats::service::Context& ctx,\n"
           "      $method$Stream& stream,\n"
           "      $response$* response) = 0;\n"),
       .bidi = absl::StrCat(
           StreamAlias("ServerStreamOf"),
           "  // Recv requests and Send responses; what this returns ends "
           "the\n"
           "  // stream.\n"
           "  virtual absl::Status $method$(\n"
           "      ::micro_nats::service::Context& ctx,\n"
           "      $method$Stream& stream) = 0;\n")});
  p.Print(
      "// Registers every endpoint of $service$ on `server` (before its "
      "Start),\n"
      "// each described in the registry by its request and response types,\n"
      "// and those the .proto marks with an idempotency_level as idempotent.\n"
      "// `handler` must outlive the server's serving.\n"
      "absl::Status Register$service$Handler(::micro_nats::service::Server& "
      "server,\n"
      "                                     $service$Handler& handler);\n\n",
      "service", service->name());
}

// Registration of one rpc: `registered` is the call that registers it
// (Handle or HandleStream) with its endpoint and handler.
std::string Register(absl::string_view registered) {
  return absl::StrCat("  if (absl::Status status = ", registered,
                      "      !status.ok()) {\n"
                      "    return status;\n"
                      "  }\n");
}

void PrintRegister(Printer& p, const ServiceDescriptor* service) {
  PrintPerMethod(
      p, service,
      "absl::Status Register$service$Handler(::micro_nats::service::Server& "
      "server,\n"
      "                                     $service$Handler& handler) {\n",
      {.unary = Register(
           "server.Handle<$request$, $response$>(\n"
           "          $service$Names::k$method$,\n"
           "          [&handler](::micro_nats::service::Context& ctx,\n"
           "                     const $request$& request,\n"
           "                     $response$* response) {\n"
           "            return handler.$method$(ctx, request, response);\n"
           "          }$endpoint_options$);\n"),
       // The one request is read here, so the handler only Sends.
       .server_streaming = Register(
           "server.HandleStream<$request$, $response$>(\n"
           "          $service$Names::k$method$,\n"
           "          [&handler](::micro_nats::service::Context& ctx,\n"
           "                     $service$Handler::$method$Stream& stream)\n"
           "              -> absl::Status {\n"
           "            absl::StatusOr<$request$> request = stream.Recv();\n"
           "            if (absl::IsOutOfRange(request.status())) {\n"
           "              return absl::InvalidArgumentError(\n"
           "                  \"$service$.$method$ takes a request: the "
           "stream ended without one\");\n"
           "            }\n"
           "            if (!request.ok()) return request.status();\n"
           "            return handler.$method$(ctx, *request, stream);\n"
           "          }$endpoint_options$);\n"),
       .client_streaming = Register(
           "server.HandleStream<$request$, $response$>(\n"
           "          $service$Names::k$method$,\n"
           "          [&handler](::micro_nats::service::Context& ctx,\n"
           "                     $service$Handler::$method$Stream& stream)\n"
           "              -> absl::Status {\n"
           "            $response$ response;\n"
           "            absl::Status handled = handler.$method$(ctx, stream, "
           "&response);\n"
           "            if (!handled.ok()) return handled;\n"
           "            return stream.Send(response);\n"
           "          }$endpoint_options$);\n"),
       .bidi = Register(
           "server.HandleStream<$request$, $response$>(\n"
           "          $service$Names::k$method$,\n"
           "          [&handler](::micro_nats::service::Context& ctx,\n"
           "                     $service$Handler::$method$Stream& stream) {\n"
           "            return handler.$method$(ctx, stream);\n"
           "          }$endpoint_options$);\n")},
      "  return absl::OkStatus();\n}\n\n");
}

void PrintMock(Printer& p, const ServiceDescriptor* service) {
  const char* open_stream =
      "  MOCK_METHOD(absl::StatusOr<$method$Stream>, $method$,\n"
      "              (::micro_nats::service::StreamOptions options), "
      "(override));\n";
  PrintPerMethod(
      p, service,
      "// A gmock of $service$ClientInterface.\n"
      "class Mock$service$Client : public $service$ClientInterface {\n"
      " public:\n",
      {.unary =
           "  MOCK_METHOD(absl::StatusOr<$response$>, $method$,\n"
           "              (const $request$& request,\n"
           "               ::micro_nats::service::CallOptions options),\n"
           "              (override));\n"
           "  MOCK_METHOD(void, $method$Async,\n"
           "              (const $request$& request,\n"
           "               ::micro_nats::service::CallOptions options,\n"
           "               std::function<void(absl::StatusOr<$response$>)> "
           "done),\n"
           "              (override));\n",
       .server_streaming =
           "  MOCK_METHOD(absl::StatusOr<$method$Stream>, $method$,\n"
           "              (const $request$& request,\n"
           "               ::micro_nats::service::StreamOptions options),\n"
           "              (override));\n",
       .client_streaming = open_stream,
       .bidi = open_stream},
      "};\n\n");
}

using ServicePrinter = void (*)(Printer&, const ServiceDescriptor*);

// Writes the generated file `name`: its first line, an include guard when
// `guard` is not empty, `includes`, then `printers` for each service of
// `file`, in order, inside the file's namespaces.
void WriteFile(google::protobuf::compiler::GeneratorContext* context,
               const FileDescriptor* file, const std::string& name,
               const std::string& guard, const std::string& includes,
               std::initializer_list<ServicePrinter> printers) {
  std::unique_ptr<google::protobuf::io::ZeroCopyOutputStream> out(
      context->Open(name));
  Printer p(out.get(), '$');
  p.Print("// Generated by protoc-gen-micro-cpp from $file$. Do not edit.\n\n",
          "file", file->name());
  if (!guard.empty()) {
    p.Print("#ifndef $guard$\n#define $guard$\n\n", "guard", guard);
  }
  p.PrintRaw(includes);
  p.Print("\n");
  OpenNamespaces(p, file);
  for (int i = 0; i < file->service_count(); ++i) {
    for (ServicePrinter print : printers) print(p, file->service(i));
  }
  CloseNamespaces(p, file);
  if (!guard.empty()) p.Print("\n#endif  // $guard$\n", "guard", guard);
}

}  // namespace

bool MicroGenerator::Generate(
    const FileDescriptor* file, const std::string& parameter,
    google::protobuf::compiler::GeneratorContext* context,
    std::string* error) const {
  if (!parameter.empty()) {
    *error = absl::StrCat("protoc-gen-micro-cpp takes no parameters, got '",
                          parameter, "'");
    return false;
  }
  const std::string base = Base(file);
  const std::string header = base + ".micro.h";
  WriteFile(
      context, file, header, Guard(file, "_MICRO_H"),
      absl::StrCat("#include <functional>\n"
                   "#include <string>\n"
                   "#include <utility>\n"
                   "\n"
                   "#include \"absl/status/status.h\"\n"
                   "#include \"absl/status/statusor.h\"\n"
                   "#include \"",
                   base,
                   ".pb.h\"\n"
                   "#include \"service/client.h\"\n"
                   "#include \"service/server.h\"\n",
                   Streams(file) ? "#include \"service/stream.h\"\n" : ""),
      {PrintNames, PrintClient, PrintHandler});
  WriteFile(context, file, base + ".micro.cc", "",
            absl::StrCat("#include \"", header, "\"\n"), {PrintRegister});
  WriteFile(context, file, base + ".micro_mock.h", Guard(file, "_MICRO_MOCK_H"),
            absl::StrCat("#include <functional>\n"
                         "\n"
                         "#include \"",
                         header,
                         "\"\n"
                         "#include \"gmock/gmock.h\"\n"),
            {PrintMock});
  return true;
}

}  // namespace micro_nats::service::codegen
