"""The protos name their packages for other languages; the wire format stays vantage.v1's."""

from __future__ import annotations

import pytest
from google.protobuf.descriptor import FileDescriptor

from vantage.v1 import admin_service_pb2, measurement_pb2, probe_service_pb2, query_service_pb2

FILES = [
    module.DESCRIPTOR for module in (admin_service_pb2, measurement_pb2, probe_service_pb2, query_service_pb2)
]


@pytest.mark.parametrize("descriptor", FILES, ids=lambda d: d.name)
def test_language_package_options(descriptor: FileDescriptor) -> None:
    options = descriptor.GetOptions()
    assert descriptor.package == "vantage.v1"  # the wire names: unchanged
    assert options.go_package == "vantage/gen/go/vantage/v1;vantagev1"
    assert options.java_package == "vantage.v1" and options.java_multiple_files
    assert options.java_outer_classname.endswith("Proto")
    assert options.csharp_namespace == "Vantage.V1"
    assert options.php_namespace == "Vantage\\V1" and options.ruby_package == "Vantage::V1"


def test_outer_class_names_do_not_collide() -> None:
    names = [descriptor.GetOptions().java_outer_classname for descriptor in FILES]
    assert len(set(names)) == len(names)


def test_full_names_on_the_wire_are_unchanged() -> None:
    assert (
        probe_service_pb2.DESCRIPTOR.services_by_name["ProbeService"].full_name == "vantage.v1.ProbeService"
    )
    assert measurement_pb2.Measurement.DESCRIPTOR.full_name == "vantage.v1.Measurement"
