"""Generated protobuf and gRPC code for the vantage.v1 wire format.

Do not edit the *_pb2* modules by hand: the .proto files under proto/vantage/v1
are the source of truth; regenerate with `python tools/gen_proto.py`.
Import messages by their proto package path, e.g.
`from vantage.v1 import measurement_pb2`.
"""
