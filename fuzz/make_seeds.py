#!/usr/bin/env python3
"""Writes the hand-made seed inputs of fuzz/corpus/ (run from anywhere).

Seeds are small and readable; fields are separated by the byte 0xFF
(fuzz_input.h). The go-micro JSON samples are those of
registry/nats/internal/codec_test.cc, the ADR-32 ones those of
srv/protocol_test.cc (both ours). Inputs that found defects are added by
hand as corpus/<name>/crash-* (libFuzzer's names) and are not written here.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
S = b"\xff"

GO_MICRO_QUERY = (b'{"Action":"get","Service":{"name":"greeter","version":"",'
                  b'"metadata":null,"endpoints":null,"nodes":null},"Timestamp":0}')
GO_MICRO_REPLY = b'''{
  "name": "greeter", "version": "latest", "metadata": {"protocol": "grpc"},
  "endpoints": [{
    "name": "Greeter.Hello",
    "request": {"name": "Request", "type": "Request",
                "values": [{"name": "name", "type": "string", "values": null}]},
    "response": {"name": "Response", "type": "Response", "values": null},
    "metadata": {"stream": "false"}
  }, {"name": "Greeter.Ping", "request": null, "response": null, "metadata": null}],
  "nodes": [{"id": "greeter-1", "address": "10.0.0.1:8080",
             "metadata": {"broker": "nats", "registry": "nats"}}]
}'''
GO_MICRO_EVENT = (b'{"Action":"delete","Service":{"name":"greeter","version":"latest",'
                  b'"metadata":null,"endpoints":null,"nodes":[{"id":"greeter-1",'
                  b'"address":"10.0.0.1:8080","metadata":null}]},"Timestamp":1700000000}')
CREATE_EVENT = (b'{"action":"create","service":{"name":"greeter","version":"1",'
                b'"nodes":[{"id":"greeter-2","address":"_INBOX.abc"}]}}')

V1_PING = (b'{"type":"io.nats.micro.v1.ping_response","name":"greeter","id":"N1",'
           b'"version":"1.2.3","metadata":{}}')
V1_INFO = (b'{"type":"io.nats.micro.v1.info_response","name":"greeter","id":"N1",'
           b'"version":"0.0.0+latest","metadata":{"k":"v"},"description":"says hello",'
           b'"endpoints":[{"name":"Greeter_Hello","subject":"greeter.Greeter.Hello",'
           b'"queue_group":"q","metadata":{"stream":"false"}}]}')
V1_STATS = (b'{"type":"io.nats.micro.v1.stats_response","name":"greeter","id":"N1",'
            b'"version":"1.2.3","metadata":{},"started":"2026-11-18T10:00:00.5Z",'
            b'"endpoints":[{"name":"Greeter_Hello","subject":"greeter.Greeter.Hello",'
            b'"queue_group":"q","num_requests":3,"num_errors":1,"last_error":"boom",'
            b'"processing_time":6000000000000,"average_processing_time":2000000000000}]}')
DRAFT_PING = b'{"name":"goecho","id":"N1","version":"1.2.3"}'
DRAFT_INFO = (b'{"name":"goecho","id":"N1","version":"1.2.3","description":"echo",'
              b'"subject":"goecho.echo"}')
DRAFT_STATS = (b'{"name":"goecho","id":"N1","version":"1.2.3","num_requests":4,'
               b'"num_errors":0,"last_error":"","processing_time":1000,'
               b'"average_processing_time":250,"started":"2026-11-18T10:00:00Z"}')

MICRO_ERROR = b'{"id":"greeter","code":404,"detail":"no such user","status":"Not Found"}'

EVERYTHING_JSON = b'''{"text":"hi","blob":"aGk=","i32":-1,"i64":"9007199254740993",
 "u32":4294967295,"u64":"18446744073709551615","s64":"-5","f64":"7","real":1.5e300,
 "single":0.1,"flag":true,"kind":"KIND_ONE","tags":["a","b"],"numbers":["1",2],
 "kinds":[2,"KIND_ONE"],"counts":{"a":1},"names":{"-3":"x"},
 "tree":{"t":{"depth":1,"child":{"depth":2},"children":[{}]}},
 "nested":{"depth":1},"choiceText":"c","maybe":0,
 "structValue":{"a":[1,"x",null,true,{"b":{}}]},"value":[[[]]],"list":[1,{}],
 "any":{"@type":"type.googleapis.com/google.protobuf.Duration","value":"1.5s"},
 "timestamp":"2026-11-18T10:00:00.123456789Z","duration":"-3.000000001s",
 "mask":"a.b,cD","wrappedI64":"12","wrappedText":"t","wrappedBlob":"AA=="}'''

SEEDS = {
    "registry_codec": {
        "go_micro_query": GO_MICRO_QUERY,
        "go_micro_reply": GO_MICRO_REPLY,
        "go_micro_event": GO_MICRO_EVENT,
        "create_event": CREATE_EVENT,
        "empty_object": b"{}",
    },
    "census": {
        "hint_only": b"3 8f2a1c 9b1e2f3a",
        "hint_no_sender": b"1 ffffffffffffffff",
        "events": b"2 1 me" + S + CREATE_EVENT + S + GO_MICRO_EVENT + S + CREATE_EVENT,
        "reply_as_event": b"x" + S + b'{"action":"update","service":' + GO_MICRO_REPLY + b"}",
    },
    "srv_protocol": {
        "v1_ping": V1_PING, "v1_info": V1_INFO, "v1_stats": V1_STATS,
        "draft_ping": DRAFT_PING, "draft_info": DRAFT_INFO,
        "draft_stats": DRAFT_STATS,
    },
    "service_errors": {
        "micro_error": MICRO_ERROR,
        "detail_only": b'{"detail":"it broke"}',
        "plain_text": b"it broke",
        "unavailable": b'{"id":"x","code":503,"detail":"","status":"Service Unavailable"}',
    },
    "json_codec": {
        "everything": EVERYTHING_JSON,
        "empty": b"",
        "typed_json": b"application/json; charset=utf-8" + S + b'{"text":"x","nested":{"child":{}}}',
        "protobuf": b"application/protobuf" + S + b"\x0a\x02hi\x20\x7f\x9a\x01\x02\x08\x01",
        "unknown_type": b"text/plain" + S + b"hi",
    },
    "service_request": {
        "json": b"Content-Type" + S + b"application/json" + S + b"Timeout" + S
                + b"5000000000" + S + b"Micro-Id" + S + b"42" + S + b'{"text":"hi"}',
        "protobuf": b"Timeout" + S + b"1000" + S + b"\x0a\x02hi",
        "bad_timeout": b"Timeout" + S + b"5s" + S + b"",
        "bad_json": b"Content-Type" + S + b"application/json" + S + b"{",
    },
    "service_answer": {
        "ok_json": b"Content-Type" + S + b"application/json" + S + b'{"text":"hi"}',
        "micro_error": b"Micro-Error" + S + MICRO_ERROR + S + b"",
        "nats_service_error": b"Nats-Service-Error" + S + b"no such user" + S
                              + b"Nats-Service-Error-Code" + S + b"404" + S + b"",
        "bad_code": b"Nats-Service-Error" + S + b"x" + S
                    + b"Nats-Service-Error-Code" + S + b"5oo" + S + b"",
        "protobuf": b"\x0a\x02hi",
    },
    "header_map": {
        "plain": b"Content-Type" + S + b"application/json" + S + b"Micro-Id" + S + b"7" + S + b"body",
        "injection": b"X-Trace" + S + b"1\r\nX-Injected: 1" + S + b"",
        "bad_name": b"X Trace" + S + b"1" + S + b"",
        "spaces": b"A" + S + b" padded " + S + b"B" + S + b"2",
        "empty_value": b"A" + S + b"" + S + b"B" + S + b"2",
    },
    "transport_control": {
        "data": b"NATS/1.0\r\nContent-Type: application/json\r\n\r\n" + S + b"{}",
        "open": b"NATS/1.0\r\nMicro-Transport-Control: open\r\n\r\n" + S,
        "refused": b"NATS/1.0\r\nMicro-Transport-Control: refused\r\n\r\n" + S + b"full",
        "no_responders": b"NATS/1.0 503\r\n\r\n" + S,
        "no_headers": b"hello",
        "several": b"NATS/1.0\r\nA: 1\r\n\r\n" + S + b"one" + S + S + b"two" + S + S
                   + b"NATS/1.0\r\nMicro-Transport-Control: close\r\n\r\n" + S,
        "token_open": b"NATS/1.0\r\nMicro-Transport-Control: open\r\n"
                      b"Micro-Transport-Token: 5f2c9a\r\n\r\n" + S,
        "token_data": b"NATS/1.0\r\nMicro-Transport-Token: 5f2c9a\r\nMicro-Id: 1\r\n\r\n" + S + b"x",
        "folded": b"NATS/1.0\r\nA: 1\r\n  more\r\n\r\n" + S + b"x",
    },
}

for name, seeds in SEEDS.items():
    directory = os.path.join(HERE, "corpus", name)
    os.makedirs(directory, exist_ok=True)
    for seed, data in seeds.items():
        with open(os.path.join(directory, "seed-" + seed), "wb") as f:
            f.write(data)
