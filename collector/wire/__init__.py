"""Conversions between vantage.v1 protobuf messages and the collector's plain records.

The only collector modules (with the gRPC servicers) that touch protobuf.
"""
