"""The collector's gRPC service: servicers, authentication, the round loop, the server."""
